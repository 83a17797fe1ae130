// The main thread's side of the runner: talks to worker.mjs and stops a
// runaway guest. A guest call cannot be interrupted from inside its worker
// (WebAssembly runs to completion), so every call has a deadline after which
// the whole worker is terminated; the page never freezes. The next call
// starts a fresh worker and first re-sends the last load (the mocks start
// over, an open connection is gone).
//
//   const runner = new TryRunner({ workerUrl: '/assets/worker.js' });
//   await runner.load(wasmArrayBuffer, component, mocks);   // → {type: 'loaded'} | {type: 'error', ...}
//   await runner.http({ method: 'GET', path: '/count', headers: [], body: new Uint8Array() });
//
// Calls run one at a time in the order they were made; each resolves with
// the worker's answer (never rejects).

export const DEFAULT_DEADLINE_MS = 5000;
/** A load compiles the module first (seconds for a large Go module on a slow machine), so it gets longer. */
export const LOAD_DEADLINE_MS = 30000;

/** The answer for a call that ran past its deadline. */
export function timeoutError(ms, what = 'the guest ran') {
  return { type: 'error', kind: 'timeout', message: `${what} longer than ${ms} ms and was stopped` };
}

export class TryRunner {
  /**
   * workerUrl: the worker script (a module worker); createWorker(url): a
   * Worker-like object ({postMessage(msg, transfer), terminate(), onmessage,
   * onerror}), injectable for Node (worker_threads) and tests;
   * loadDeadlineMs: how long a load may take (compiling, _initialize).
   */
  constructor({ workerUrl, createWorker, loadDeadlineMs = LOAD_DEADLINE_MS } = {}) {
    this.loadDeadlineMs = loadDeadlineMs;
    this.workerUrl = workerUrl;
    this.createWorker = createWorker || ((url) => new Worker(url, { type: 'module' }));
    this.worker = null;
    this.lastLoad = null;
    this.deadlineMs = DEFAULT_DEADLINE_MS;
    this.chain = Promise.resolve();
    this.workersStarted = 0;
  }

  /**
   * Load a built module (ArrayBuffer or Uint8Array; copied, so the caller
   * keeps its own) with its component ({name, abi, kind, stores, variables,
   * routes?, timeout_ms?}) and mocks ({kv, variables, fetch}). The
   * component's timeout_ms becomes the default deadline of later calls.
   */
  load(wasm, component = {}, mocks = {}) {
    const bytes = wasm instanceof ArrayBuffer ? new Uint8Array(wasm) : new Uint8Array(wasm.buffer, wasm.byteOffset, wasm.byteLength);
    this.lastLoad = { wasm: bytes.slice(), component, mocks };
    this.deadlineMs = positive(component && component.timeout_ms) || DEFAULT_DEADLINE_MS;
    return this.enqueue(() => this.sendLoad(this.lastLoad));
  }

  /** One HTTP request: {method, path (with ?query), headers: [[n, v]], body: Uint8Array}. */
  http(request, deadlineMs) {
    return this.call({ type: 'http', request }, deadlineMs);
  }

  /** Open a connection ('websocket' to `path`, or 'tcp'); an earlier one is closed. */
  open(kind, path, deadlineMs) {
    return this.call({ type: 'open', kind, path }, deadlineMs);
  }

  /** Send a message (WebSocket: text unless binary) or bytes (TCP) on the open connection. */
  send(data, binary = typeof data !== 'string', deadlineMs) {
    return this.call({ type: 'send', data, binary }, deadlineMs);
  }

  /** Close the open connection. */
  close(deadlineMs) {
    return this.call({ type: 'close' }, deadlineMs);
  }

  /** End the worker now (a later call starts a fresh one and re-sends the last load). */
  terminate() {
    return this.enqueue(async () => {
      this.stop();
      return { type: 'terminated' };
    });
  }

  // -- internals --------------------------------------------------------------------

  enqueue(job) {
    const result = this.chain.then(job, job);
    this.chain = result.catch(() => {});
    return result;
  }

  call(msg, deadlineMs) {
    return this.enqueue(async () => {
      if (!this.worker && this.lastLoad) {
        // a fresh worker (after a timeout or terminate) gets the last load first
        const loaded = await this.sendLoad(this.lastLoad);
        if (loaded.type !== 'loaded') return loaded;
      }
      return this.post(msg, [], positive(deadlineMs) || this.deadlineMs);
    });
  }

  sendLoad(load) {
    const wasm = load.wasm.slice().buffer; // a copy to transfer: the original stays for later re-loads
    return this.post({ type: 'load', wasm, component: load.component, mocks: load.mocks }, [wasm],
      Math.max(this.loadDeadlineMs, this.deadlineMs), 'loading the module took');
  }

  ensureWorker() {
    if (!this.worker) {
      this.worker = this.createWorker(this.workerUrl);
      this.workersStarted += 1;
    }
    return this.worker;
  }

  stop() {
    if (this.worker) {
      const worker = this.worker;
      this.worker = null;
      worker.onmessage = null;
      worker.onerror = null;
      worker.terminate();
    }
  }

  /** Post one message and wait for its answer, the worker's failure or the deadline. */
  post(msg, transfer, deadlineMs, what) {
    let worker;
    try {
      worker = this.ensureWorker();
    } catch (err) {
      return Promise.resolve({ type: 'error', kind: 'load', message: `the runner worker did not start: ${err.message}` });
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.stop();
        resolve(timeoutError(deadlineMs, what));
      }, deadlineMs);
      const done = (answer) => {
        clearTimeout(timer);
        worker.onmessage = null;
        worker.onerror = null;
        resolve(answer);
      };
      worker.onmessage = (event) => done(event.data);
      worker.onerror = (event) => {
        this.stop();
        if (event && typeof event.preventDefault === 'function') event.preventDefault();
        done({ type: 'error', kind: 'load', message: `the runner worker failed: ${(event && event.message) || 'unknown error'}` });
      };
      worker.postMessage(msg, transfer);
    });
  }
}

function positive(n) {
  return Number.isFinite(n) && n > 0 ? n : 0;
}
