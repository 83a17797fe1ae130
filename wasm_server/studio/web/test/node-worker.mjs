// Runs src/worker.mjs in a Node worker_threads Worker: the Web Worker globals
// it uses (self.onmessage, self.postMessage) mapped onto parentPort. For
// tests (Node 20 has no global Worker); see workerThreadsAdapter in
// tryrunner.test.mjs.
import './node-worker-globals.mjs';
import '../src/worker.mjs';
