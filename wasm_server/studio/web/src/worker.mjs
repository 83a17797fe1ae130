// The runner's Web Worker: protocol messages in, answers out (runner.mjs does
// the work). Messages are answered one at a time in arrival order, so a
// request sent right after a load runs on the loaded module. Byte arrays of
// the answers are transferred, not copied.

import { Runner, transferables } from './runner.mjs';

const runner = new Runner();
let queue = Promise.resolve();

self.onmessage = (event) => {
  queue = queue.then(async () => {
    const reply = await runner.handle(event.data);
    self.postMessage(reply, transferables(reply));
  });
};
