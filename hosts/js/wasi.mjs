// A small WASI preview 1 for guests run by the JS host: no files, no
// network, no environment unless given. Enough for the C, C++, Rust, Go and
// AssemblyScript runtimes to start, write to stdout/stderr and sleep
// (poll_oneoff answers at once: calls are synchronous). Works in Node.js
// and in browsers (no node: imports).

const ERRNO = { SUCCESS: 0, BADF: 8, INVAL: 28, NOSYS: 52 };
const utf8 = new TextEncoder();

/** Thrown by proc_exit so the caller can tell an exit from a trap. */
export class WasiExit extends Error {
  constructor(code) {
    super(`the guest exited with code ${code}`);
    this.code = code;
  }
}

/**
 * Build the `wasi_snapshot_preview1` import object for `memory()` (a
 * function returning the guest's current Memory, which exists only after
 * instantiation). Options: args, env ({NAME: value}), stdout(bytes),
 * stderr(bytes), stdin (bytes), now() in ns (BigInt), sleep(ns) called for
 * a clock subscription of poll_oneoff (which never waits: see below).
 */
export function wasiImports(memory, options = {}) {
  const args = (options.args || ['guest']).map((a) => utf8.encode(`${a}\0`));
  const env = Object.entries(options.env || {}).map(([k, v]) => utf8.encode(`${k}=${v}\0`));
  const out = { 1: options.stdout || (() => {}), 2: options.stderr || (() => {}) };
  let stdin = options.stdin || new Uint8Array(0);
  const now = options.now || (() => BigInt(Date.now()) * 1000000n);
  const sleep = options.sleep || (() => {});
  const view = () => new DataView(memory().buffer);
  const u8 = () => new Uint8Array(memory().buffer);

  const putList = (items, ptrs, buf) => {
    const dv = view(), mem = u8();
    let at = buf;
    items.forEach((item, i) => {
      dv.setUint32(ptrs + i * 4, at, true);
      mem.set(item, at);
      at += item.length;
    });
    return ERRNO.SUCCESS;
  };
  const sizes = (items, countPtr, sizePtr) => {
    const dv = view();
    dv.setUint32(countPtr, items.length, true);
    dv.setUint32(sizePtr, items.reduce((n, item) => n + item.length, 0), true);
    return ERRNO.SUCCESS;
  };

  return {
    args_get: (ptrs, buf) => putList(args, ptrs, buf),
    args_sizes_get: (c, s) => sizes(args, c, s),
    environ_get: (ptrs, buf) => putList(env, ptrs, buf),
    environ_sizes_get: (c, s) => sizes(env, c, s),
    clock_res_get: (_id, ptr) => { view().setBigUint64(ptr, 1000n, true); return ERRNO.SUCCESS; },
    clock_time_get: (_id, _precision, ptr) => { view().setBigUint64(ptr, now(), true); return ERRNO.SUCCESS; },
    random_get: (ptr, len) => {
      // getRandomValues takes at most 64 KiB at a time
      for (let at = 0; at < len; at += 65536) {
        globalThis.crypto.getRandomValues(new Uint8Array(memory().buffer, ptr + at, Math.min(65536, len - at)));
      }
      return ERRNO.SUCCESS;
    },
    fd_write: (fd, iovs, count, nwritten) => {
      if (!out[fd]) return ERRNO.BADF;
      const dv = view();
      let total = 0;
      for (let i = 0; i < count; i++) {
        const ptr = dv.getUint32(iovs + i * 8, true), len = dv.getUint32(iovs + i * 8 + 4, true);
        out[fd](new Uint8Array(memory().buffer, ptr, len).slice());
        total += len;
      }
      view().setUint32(nwritten, total, true);
      return ERRNO.SUCCESS;
    },
    fd_read: (fd, iovs, count, nread) => {
      if (fd !== 0) return ERRNO.BADF;
      const dv = view();
      let total = 0;
      for (let i = 0; i < count && stdin.length; i++) {
        const ptr = dv.getUint32(iovs + i * 8, true), len = dv.getUint32(iovs + i * 8 + 4, true);
        const n = Math.min(len, stdin.length);
        u8().set(stdin.subarray(0, n), ptr);
        stdin = stdin.subarray(n);
        total += n;
      }
      view().setUint32(nread, total, true);
      return ERRNO.SUCCESS;
    },
    fd_fdstat_get: (fd, ptr) => {
      if (fd > 2) return ERRNO.BADF;
      const dv = view();
      dv.setUint8(ptr, 2); // character device
      dv.setUint16(ptr + 2, 0, true);
      dv.setBigUint64(ptr + 8, 0n, true);
      dv.setBigUint64(ptr + 16, 0n, true);
      return ERRNO.SUCCESS;
    },
    fd_prestat_get: () => ERRNO.BADF, // no preopened directories: no filesystem
    fd_prestat_dir_name: () => ERRNO.BADF,
    fd_close: () => ERRNO.SUCCESS,
    fd_seek: () => ERRNO.NOSYS,
    sched_yield: () => ERRNO.SUCCESS,
    poll_oneoff: (inPtr, outPtr, count, neventsPtr) => {
      // Calls are synchronous here, so nothing can be waited for: every
      // subscription is reported ready at once (the server makes fd ones
      // ready at once too), and a clock-only poll advances the embedder's
      // clock by its shortest timeout (sleep), as if that time had passed.
      // Go's runtime sleeps with this.
      const dv = view();
      let shortest = null, fds = false;
      for (let i = 0; i < count; i++) {
        const sub = inPtr + i * 48, ev = outPtr + i * 32;
        const tag = dv.getUint8(sub + 8);
        if (tag === 0) {
          // relative timeout, or absolute (flags bit 0) against this clock
          const timeout = dv.getBigUint64(sub + 24, true);
          const wait = dv.getUint16(sub + 40, true) & 1 ? timeout - now() : timeout;
          if (shortest === null || wait < shortest) shortest = wait;
        } else {
          fds = true;
        }
        dv.setBigUint64(ev, dv.getBigUint64(sub, true), true); // userdata
        dv.setUint16(ev + 8, tag <= 2 ? ERRNO.SUCCESS : ERRNO.INVAL, true);
        dv.setUint8(ev + 10, tag);
        dv.setBigUint64(ev + 16, 0n, true); // fd events: nbytes unknown
        dv.setUint16(ev + 24, 0, true);
      }
      dv.setUint32(neventsPtr, count, true);
      if (!fds && shortest !== null && shortest > 0n) sleep(shortest);
      return count === 0 ? ERRNO.INVAL : ERRNO.SUCCESS;
    },
    proc_exit: (code) => { throw new WasiExit(code); },
  };
}

/** ENOSYS for any WASI function this shim does not implement (the module links; the call fails cleanly). */
export function notImplemented() {
  return ERRNO.NOSYS;
}
