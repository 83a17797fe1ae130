// TryRunner (src/tryrunner.mjs) driving the real worker (src/worker.mjs) in
// Node worker_threads: runaway guests are stopped at the deadline, the next
// call gets a fresh worker with the last load. Modules: see runner.test.mjs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { DEFAULT_DEADLINE_MS, TryRunner } from '../src/tryrunner.mjs';

const dir = process.env.WASM_SERVER_TEST_MODULES;
const needs = { skip: !dir && 'WASM_SERVER_TEST_MODULES is not set (tests/studio/test_web_runner.py sets it)' };
const wasm = (name) => readFileSync(join(dir, name));
const text = (b) => Buffer.from(b).toString();
const get = (path) => ({ method: 'GET', path, headers: [], body: new Uint8Array(0) });
const WORKER = new URL('../node/worker-thread.mjs', import.meta.url);

/** A Worker-like object (postMessage, terminate, onmessage, onerror) over worker_threads. */
export function workerThreadsAdapter(url) {
  const worker = new Worker(url);
  const adapter = {
    onmessage: null,
    onerror: null,
    postMessage: (message, transfer) => worker.postMessage(message, transfer),
    terminate: () => { adapter.terminated = true; return worker.terminate(); },
    terminated: false,
  };
  worker.on('message', (data) => adapter.onmessage && adapter.onmessage({ data }));
  worker.on('error', (err) => adapter.onerror && adapter.onerror({ message: err.message }));
  return adapter;
}

function tryRunner() {
  const workers = [];
  const runner = new TryRunner({
    workerUrl: WORKER,
    createWorker: (url) => { const w = workerThreadsAdapter(url); workers.push(w); return w; },
  });
  return { runner, workers };
}

test('load and a request go through the worker; the caller keeps its wasm bytes', needs, async () => {
  const { runner, workers } = tryRunner();
  try {
    const bytes = new Uint8Array(wasm('kv-counter-c.wasm'));
    const loaded = await runner.load(bytes, { name: 'kv', stores: ['default'], routes: ['/count'] }, { kv: { default: { counter: '9' } } });
    assert.deepEqual(loaded, { type: 'loaded' });
    assert.equal(bytes.byteLength > 0, true); // not transferred away
    const res = await runner.http({ method: 'POST', path: '/count', headers: [], body: new Uint8Array(0) });
    assert.equal(res.status, 200);
    assert.ok(res.body instanceof Uint8Array);
    assert.equal(text(res.body), '10\n');
    assert.deepEqual(res.kv, { default: { counter: '10' } });
    assert.equal(workers.length, 1);
  } finally {
    await runner.terminate();
  }
});

test('a looping guest is stopped at the deadline and the next request works on a fresh worker', needs, async () => {
  const { runner, workers } = tryRunner();
  try {
    assert.deepEqual(await runner.load(wasm('post-loop.wasm'), { name: 'loopy' }, {}), { type: 'loaded' });
    assert.equal(text((await runner.http(get('/'))).body), 'hi');
    const stopped = await runner.http({ method: 'POST', path: '/', headers: [], body: new Uint8Array(0) }, 300);
    assert.deepEqual(stopped, { type: 'error', kind: 'timeout', message: 'the guest ran longer than 300 ms and was stopped' });
    assert.equal(workers[0].terminated, true);
    // the next call starts a fresh worker, re-sends the last load, and runs
    const next = await runner.http(get('/'));
    assert.equal(next.status, 200);
    assert.equal(text(next.body), 'hi');
    assert.equal(workers.length, 2);
  } finally {
    await runner.terminate();
  }
});

test('the component\'s timeout_ms is the default deadline; 5000 ms without one', needs, async () => {
  const { runner } = tryRunner();
  try {
    assert.equal(runner.deadlineMs, DEFAULT_DEADLINE_MS);
    assert.equal(DEFAULT_DEADLINE_MS, 5000);
    await runner.load(wasm('loop.wasm'), { name: 'loop', timeout_ms: 200 }, {});
    assert.equal(runner.deadlineMs, 200);
    const res = await runner.http(get('/'));
    assert.deepEqual([res.kind, res.message], ['timeout', 'the guest ran longer than 200 ms and was stopped']);
  } finally {
    await runner.terminate();
  }
});

test('a connection that loops is stopped; afterwards it is closed and a new one works', needs, async () => {
  const { runner, workers } = tryRunner();
  try {
    await runner.load(wasm('conn.wasm'), { name: 'conn' }, {});
    assert.equal((await runner.open('websocket', '/ws')).type, 'opened');
    assert.deepEqual((await runner.send('hi')).output, [{ data: 'hi', binary: false }]);
    assert.equal((await runner.send('loop', false, 300)).kind, 'timeout');
    const after = await runner.send('x');
    assert.deepEqual([after.type, after.closed, after.output], ['output', true, []]);
    await runner.open('websocket', '/ws');
    assert.deepEqual((await runner.send(Uint8Array.of(120), false)).output, [{ data: 'x', binary: false }]);
    assert.deepEqual((await runner.close()).closed, true);
    assert.equal(workers.length, 2);
  } finally {
    await runner.terminate();
  }
});

test('calls run in order even when not awaited one by one', needs, async () => {
  const { runner } = tryRunner();
  try {
    const all = await Promise.all([
      runner.load(wasm('kv-counter-c.wasm'), { name: 'kv', stores: ['default'], routes: ['/count'] }, {}),
      runner.http({ method: 'POST', path: '/count', headers: [], body: new Uint8Array(0) }),
      runner.http({ method: 'POST', path: '/count', headers: [], body: new Uint8Array(0) }),
      runner.http(get('/count')),
    ]);
    assert.deepEqual(all.slice(1).map((r) => text(r.body)), ['1\n', '2\n', '2\n']);
  } finally {
    await runner.terminate();
  }
});

test('terminate ends the worker; the next call starts another with the last load', needs, async () => {
  const { runner, workers } = tryRunner();
  try {
    await runner.load(wasm('hello-c.wasm'), { name: 'hello-c' }, {});
    assert.deepEqual(await runner.terminate(), { type: 'terminated' });
    assert.equal(workers[0].terminated, true);
    assert.equal((await runner.http(get('/a'))).status, 200);
    assert.equal(workers.length, 2);
  } finally {
    await runner.terminate();
  }
});

test('a load whose _initialize loops is stopped at the load deadline', needs, async () => {
  const workers = [];
  const runner = new TryRunner({ workerUrl: WORKER, loadDeadlineMs: 300, createWorker: (url) => { const w = workerThreadsAdapter(url); workers.push(w); return w; } });
  try {
    const res = await runner.load(wasm('init-loop.wasm'), { name: 'init-loop', timeout_ms: 100 }, {});
    assert.deepEqual(res, { type: 'error', kind: 'timeout', message: 'loading the module took longer than 300 ms and was stopped' });
    assert.equal(workers[0].terminated, true);
  } finally {
    await runner.terminate();
  }
});

test('a worker that fails to start answers a load error instead of hanging', async () => {
  const runner = new TryRunner({ workerUrl: new URL('./no-such-worker.mjs', import.meta.url), createWorker: workerThreadsAdapter });
  const res = await runner.load(Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0), {}, {});
  assert.equal(res.type, 'error');
  assert.equal(res.kind, 'load');
  assert.match(res.message, /the runner worker failed/);
  await runner.terminate();
});
