// STAND-IN: replaced at merge by the runner helper's src/tryrunner.mjs (same interface).
// TryRunner talks to the runner worker (src/worker.mjs) and ends it after a deadline.
export class TryRunner {
  constructor({ workerUrl }) {
    this.workerUrl = workerUrl;
    this.worker = null;
  }

  call(message, deadlineMs = 5000, transfer = []) {
    if (!this.worker) this.worker = new Worker(this.workerUrl, { type: 'module' });
    const worker = this.worker;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.terminate();
        resolve({ type: 'error', kind: 'timeout', message: `no answer within ${deadlineMs} ms: the worker was stopped` });
      }, deadlineMs);
      worker.onmessage = (event) => { clearTimeout(timer); resolve(event.data); };
      worker.onerror = (event) => {
        clearTimeout(timer);
        this.terminate();
        resolve({ type: 'error', kind: 'load', message: event.message || 'the worker failed' });
      };
      worker.postMessage(message, transfer);
    });
  }

  load(wasm, component, mocks) { return this.call({ type: 'load', wasm, component, mocks }, 30000); }
  http(request, deadlineMs) { return this.call({ type: 'http', request }, deadlineMs); }
  open(kind, path) { return this.call({ type: 'open', kind, path }); }
  send(data, binary) { return this.call({ type: 'send', data, binary }); }
  close() { return this.call({ type: 'close' }); }

  terminate() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
  }
}
