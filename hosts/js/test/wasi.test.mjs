// The WASI shim on its own, over a bare Memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wasiImports } from '../wasi.mjs';

test('poll_oneoff reports every subscription ready at once, with its userdata and type', () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const slept = [];
  const wasi = wasiImports(() => memory, { sleep: (ns) => slept.push(ns) });
  const dv = new DataView(memory.buffer);
  // a clock subscription (tag 0: relative 10 s) and an fd_read one (tag 1, fd 0)
  dv.setBigUint64(0, 0x1122334455667788n, true);
  dv.setUint8(8, 0);
  dv.setUint32(16, 1, true);
  dv.setBigUint64(24, 10_000_000_000n, true);
  dv.setBigUint64(48, 42n, true);
  dv.setUint8(56, 1);
  dv.setUint32(64, 0, true);
  assert.equal(wasi.poll_oneoff(0, 1024, 2, 2048), 0);
  assert.equal(dv.getUint32(2048, true), 2);
  assert.equal(dv.getBigUint64(1024, true), 0x1122334455667788n);
  assert.deepEqual([dv.getUint16(1032, true), dv.getUint8(1034)], [0, 0]);
  assert.equal(dv.getBigUint64(1056, true), 42n);
  assert.deepEqual([dv.getUint16(1064, true), dv.getUint8(1066)], [0, 1]);
  assert.deepEqual(slept, []); // an fd subscription is ready at once: no time passes
  assert.equal(wasi.poll_oneoff(0, 1024, 0, 2048), 28); // no subscriptions: EINVAL
});

test('a clock-only poll_oneoff advances the clock by its shortest timeout instead of waiting', () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  let clock = 1_000_000_000n;
  const wasi = wasiImports(() => memory, { now: () => clock, sleep: (ns) => { clock += ns; } });
  const dv = new DataView(memory.buffer);
  // relative 10 s and absolute (flags bit 0) "now + 2 s"
  dv.setUint8(8, 0);
  dv.setBigUint64(24, 10_000_000_000n, true);
  dv.setUint8(56, 0);
  dv.setBigUint64(72, clock + 2_000_000_000n, true);
  dv.setUint16(88, 1, true);
  assert.equal(wasi.poll_oneoff(0, 1024, 2, 2048), 0);
  assert.equal(clock, 3_000_000_000n);
  assert.equal(wasi.clock_time_get(0, 0n, 4096), 0);
  assert.equal(dv.getBigUint64(4096, true), 3_000_000_000n);
});
