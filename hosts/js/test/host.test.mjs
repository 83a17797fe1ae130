// The JS host running real guest modules with mocked capabilities.
// WASM_SERVER_TEST_MODULES names a directory with hello.wasm, kv-counter.wasm,
// echo.wasm, tcp-echo.wasm, ws-chat.wasm, wagi-hello.wasm, sse-clock.wasm and
// dns.wasm built from the C examples, and the
// WAT guests conn.wasm, stdio.wasm and timer.wasm (tests/hosts/test_js_host.py makes them).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GuestError, GuestModule, MemoryKv } from '../host.mjs';

const dir = process.env.WASM_SERVER_TEST_MODULES;
const load = (name, options) => GuestModule.compile(readFileSync(join(dir, name)), options);
const text = (b) => Buffer.from(b).toString();

test('hello answers with the path below the route', { skip: !dir }, async () => {
  const inst = (await load('hello.wasm')).instantiate();
  const res = inst.handleHttp({ method: 'GET', url: '/a/b?c=1', pathInfo: '/a/b' });
  assert.equal(res.status, 200);
  assert.equal(text(res.body), 'Hello from C\npath: /a/b\n');
  assert.deepEqual(res.headers.find(([n]) => n === 'content-type'), ['content-type', 'text/plain; charset=utf-8']);
});

test('the KV store is the embedder\'s: a mock sees every increment', { skip: !dir }, async () => {
  const kv = new MemoryKv();
  const guest = await load('kv-counter.wasm', { kv });
  const inst = guest.instantiate();
  assert.equal(text(inst.handleHttp({ method: 'GET', url: '/count' }).body), '0\n');
  assert.equal(text(inst.handleHttp({ method: 'POST', url: '/count' }).body), '1\n');
  assert.equal(text(guest.instantiate().handleHttp({ method: 'POST', url: '/count' }).body), '2\n');
  assert.equal(text(kv.get('default', Buffer.from('counter'))), '2');
});

test('an undeclared store is denied and the guest says so', { skip: !dir }, async () => {
  const inst = (await load('kv-counter.wasm', { stores: [] })).instantiate();
  assert.equal(inst.handleHttp({ method: 'POST', url: '/count' }).status, 503);
  assert.match(inst.logLines.map((l) => l.message).join('\n'), /not declared/);
});

test('outbound fetch goes to the mock; without one it is denied', { skip: !dir }, async () => {
  const seen = [];
  const fetch = (req) => { seen.push(req.url); return { status: 201, headers: [], body: 'mocked' }; };
  const inst = (await load('echo.wasm', { fetch })).instantiate();
  const res = inst.handleHttp({ method: 'GET', url: '/fetch', route: '/fetch', headers: [['x-fetch-url', 'http://api.test/x']] });
  assert.equal(res.status, 200);
  assert.equal(text(res.body), 'mocked');
  assert.deepEqual(res.headers.find(([n]) => n === 'x-upstream-status'), ['x-upstream-status', '201']);
  assert.deepEqual(seen, ['http://api.test/x']);
  const denied = (await load('echo.wasm')).instantiate()
    .handleHttp({ method: 'GET', url: '/fetch', route: '/fetch', headers: [['x-fetch-url', 'http://api.test/x']] });
  assert.equal(denied.status, 403);
});

test('a mock can replace any import', { skip: !dir }, async () => {
  const calls = [];
  const inst = (await load('kv-counter.wasm', {
    mocks: { kv_incr: (instance, sp, sl, kp, kl, delta, out) => { calls.push(delta); new DataView(instance.memory.buffer).setBigInt64(out, 41n, true); return 0; } },
  })).instantiate();
  assert.equal(text(inst.handleHttp({ method: 'POST', url: '/count' }).body), '41\n');
  assert.deepEqual(calls, [1n]);
});

test('a 1 MiB binary body round-trips through echo', { skip: !dir }, async () => {
  const inst = (await load('echo.wasm')).instantiate();
  const body = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 255);
  const res = inst.handleHttp({ method: 'POST', url: '/echo/x', route: '/echo/...', headers: [['x-test-a', '1']], body });
  assert.deepEqual(res.body, body);
  assert.deepEqual(res.headers.find(([n]) => n === 'x-echo-x-test-a'), ['x-echo-x-test-a', '1']);
});

test('a module without the ABI exports is refused with its name', async () => {
  const empty = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0);
  await assert.rejects(GuestModule.compile(empty, { name: 'empty' }), (err) => err instanceof GuestError && /empty: the module does not export memory/.test(err.message));
});

test('stdout and stderr become whole log lines; a line without its newline is logged at the end of the event', { skip: !dir }, async () => {
  const lines = [];
  const inst = (await load('stdio.wasm', { log: (level, message) => lines.push([level, message]) })).instantiate();
  assert.equal(text(inst.handleHttp({ method: 'GET', url: '/' }).body), 'hi');
  assert.deepEqual(lines, [['info', 'one'], ['info', 'two'], ['warn', 'no newline']]);
});

test('a streamed response (sse-clock) comes back whole; sleep_ms advances the guest\'s clock, not the wall clock', { skip: !dir }, async () => {
  const inst = (await load('sse-clock.wasm')).instantiate();
  const res = inst.handleHttp({ method: 'GET', url: '/clock?n=3&ms=60000', route: '/clock' });
  assert.equal(res.status, 200);
  assert.equal(res.streamed, true);
  assert.deepEqual(res.headers.find(([n]) => n === 'content-type'), ['content-type', 'text/event-stream']);
  const events = text(res.body).split('\n\n').filter(Boolean);
  assert.equal(events.length, 3);
  const times = events.map((e) => Date.parse(e.match(/data: (.*)/)[1]));
  // a minute between ticks, in the guest's view
  assert.deepEqual([times[1] - times[0], times[2] - times[1]], [60000, 60000]);
});

test('a stream is read up to streamLimit bytes; then stream_write answers IO like a client that left', { skip: !dir }, async () => {
  const inst = (await load('sse-clock.wasm', { streamLimit: 60 })).instantiate();
  const res = inst.handleHttp({ method: 'GET', url: '/clock?n=50&ms=0', route: '/clock' });
  assert.equal(res.streamed, true);
  // one ~55-byte event fits; the guest stopped at the second instead of writing 50
  assert.equal(text(res.body).split('\n\n').filter(Boolean).length, 1);
  assert.ok(res.body.length <= 60);
});

test('UDP: a datagram goes in (UDP_DATAGRAM), the udp_send answers come back (dns)', { skip: !dir }, async () => {
  const variables = { 'hello.wasm.test A': '192.0.2.10' };
  const inst = (await load('dns.wasm', { variables })).instantiate();
  // a DNS query for hello.wasm.test, type A, class IN, id 0x1234
  const name = ['hello', 'wasm', 'test'].flatMap((l) => [l.length, ...Buffer.from(l)]);
  const query = Uint8Array.of(0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name, 0, 0, 1, 0, 1);
  const sent = inst.datagram(3, '10.0.0.9:5353', query);
  assert.equal(sent.length, 1);
  assert.deepEqual([sent[0].socket, sent[0].peer], [3, '10.0.0.9:5353']);
  const answer = Buffer.from(sent[0].data);
  assert.equal(answer.readUInt16BE(0), 0x1234);
  assert.ok(answer.includes(Buffer.from([192, 0, 2, 10])));
});

test('wake_after: the guest asks for a TIMER event, timer() delivers it when the embedder says', { skip: !dir }, async () => {
  const inst = (await load('timer.wasm')).instantiate();
  assert.deepEqual(inst.datagram(3, '10.0.0.9:5353', Uint8Array.of(1)), []);
  assert.equal(inst.wakeAfterMs, 25);
  const sent = inst.timer();
  assert.equal(inst.wakeAfterMs, null);
  assert.deepEqual(sent.map((d) => [d.socket, d.peer, text(d.data)]), [[3, '10.0.0.9:5353', 'tick']]);
});
