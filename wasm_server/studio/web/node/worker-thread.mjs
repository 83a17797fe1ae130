// Runs src/worker.mjs in a Node worker_threads Worker: the Web Worker globals
// it uses (self.onmessage, self.postMessage) mapped onto parentPort. Node 20
// has no global Worker; test/tryrunner.test.mjs starts the runner this way.
// (Outside test/, so `node --test test/` does not run it as a test file.)
import './worker-globals.mjs';
import '../src/worker.mjs';
