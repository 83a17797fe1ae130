// The studio runner (src/runner.mjs) on real guest modules with mocked host
// calls. WASM_SERVER_TEST_MODULES names a directory of modules named
// <example>-<language>.wasm (hello-c.wasm, kv-counter-go.wasm …), the Go test
// guest sleeper-go.wasm and the small WAT guests (tests/guests/wat_js.py, wat.py);
// tests/studio/test_web_runner.py builds them all.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Runner, WASI_HTTP_MESSAGE, compileRoute, globToRegExp, pickRoute, transferables } from '../src/runner.mjs';

const dir = process.env.WASM_SERVER_TEST_MODULES;
const needs = { skip: !dir && 'WASM_SERVER_TEST_MODULES is not set (tests/studio/test_web_runner.py sets it)' };
const wasm = (name) => readFileSync(join(dir, name));
const text = (b) => Buffer.from(b).toString();
const get = (path, headers = []) => ({ type: 'http', request: { method: 'GET', path, headers, body: new Uint8Array(0) } });
const post = (path, body = '', headers = []) => ({ type: 'http', request: { method: 'POST', path, headers, body: new TextEncoder().encode(body) } });
const header = (res, name) => (res.headers.find(([n]) => n.toLowerCase() === name) || [])[1];

const ECHO = { name: 'echo-c', abi: 'native', kind: 'http', stores: [], variables: {}, routes: ['/echo/...', '/fetch', { path: '/ws', websocket: true }] };
const KV = (name = 'kv-counter-c') => ({ name, abi: 'native', kind: 'http', stores: ['default'], variables: {}, routes: ['/count'] });

async function loaded(name, component = {}, mocks = {}) {
  const runner = new Runner();
  const answer = await runner.handle({ type: 'load', wasm: wasm(name), component, mocks });
  assert.deepEqual(answer, { type: 'loaded' });
  return runner;
}

test('hello answers with the path below its route', needs, async () => {
  const runner = await loaded('hello-c.wasm', { name: 'hello-c', routes: ['/...'] });
  const res = await runner.handle(get('/a/b?c=1'));
  assert.equal(res.type, 'response');
  assert.equal(res.status, 200);
  assert.equal(text(res.body), 'Hello from C\npath: /a/b\n');
  assert.equal(typeof res.ms, 'number');
  assert.deepEqual(res.fetches, []);
});

test('kv-counter uses the mocked KV value and the KV after shows the increment', needs, async () => {
  const runner = await loaded('kv-counter-c.wasm', KV(), { kv: { default: { counter: '41', other: 'x' } } });
  const res = await runner.handle(post('/count'));
  assert.equal(res.status, 200);
  assert.equal(text(res.body), '42\n');
  assert.deepEqual(res.kv, { default: { counter: '42', other: 'x' } });
  // the store lives as long as the load, like the server's
  assert.equal(text((await runner.handle(post('/count'))).body), '43\n');
  // a new load starts from the mocks again
  await runner.handle({ type: 'load', wasm: wasm('kv-counter-c.wasm'), component: KV(), mocks: { kv: { default: { counter: '7' } } } });
  assert.equal(text((await runner.handle(get('/count'))).body), '7\n');
});

test('the KV is limited to the component\'s stores: an undeclared one is denied', needs, async () => {
  const runner = new Runner();
  const answer = await runner.handle({ type: 'load', wasm: wasm('kv-counter-c.wasm'), component: { ...KV(), stores: [] }, mocks: { kv: { default: { counter: '41' } } } });
  assert.deepEqual(answer, { type: 'loaded', warnings: ["mocks.kv: store 'default' is not in the component's key_value_stores, so the guest cannot use it"] });
  const res = await runner.handle(post('/count'));
  assert.equal(res.status, 503);
  assert.match(res.log.map((l) => l.message).join('\n'), /store 'default' is not declared/);
  assert.deepEqual(res.kv, {});
});

test('variables: the mock wins over the manifest default; undeclared names are not seen', needs, async () => {
  const mocked = await loaded('var.wasm', { variables: { greeting: 'default hi' } }, { variables: { greeting: 'mocked hi' } });
  assert.equal(text((await mocked.handle(get('/'))).body), 'mocked hi');
  const byDefault = await loaded('var.wasm', { variables: { greeting: 'default hi' } }, { variables: {} });
  assert.equal(text((await byDefault.handle(get('/'))).body), 'default hi');
  const undeclared = new Runner();
  assert.deepEqual((await undeclared.handle({ type: 'load', wasm: wasm('var.wasm'), component: { variables: {} }, mocks: { variables: { greeting: 'mocked hi' } } })).warnings,
    ["mocks.variables: 'greeting' is not a variable of the component, so the guest cannot read it"]);
  assert.equal((await undeclared.handle(get('/'))).status, 404);
  const required = await loaded('var.wasm', { variables: { greeting: null } }, {});
  assert.equal((await required.handle(get('/'))).status, 404);
});

test('echo: method, target, x-test-* headers and a binary body come back', needs, async () => {
  const runner = await loaded('echo-c.wasm', ECHO);
  const body = new Uint8Array(70000).map((_, i) => (i * 7) & 255);
  const res = await runner.handle({ type: 'http', request: { method: 'PUT', path: '/echo/x?y=1', headers: [['X-Test-A', '1']], body } });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, body);
  assert.equal(header(res, 'x-echo-method'), 'PUT');
  assert.equal(header(res, 'x-echo-url'), '/echo/x?y=1');
  assert.equal(header(res, 'x-echo-path'), '/x');
  assert.equal(header(res, 'x-echo-x-test-a'), '1');
  assert.deepEqual(transferables(res), [res.body.buffer]);
});

test('a path no HTTP route matches is a 404 from the runner, like the server', needs, async () => {
  const runner = await loaded('echo-c.wasm', ECHO);
  const res = await runner.handle(get('/nope'));
  assert.equal(res.status, 404);
  assert.match(text(res.body), /no HTTP route of echo-c matches \/nope/);
});

test('fetch rules: the first match answers, the method must match, anything else is denied and recorded', needs, async () => {
  const fetch = [
    { url: 'https://api.example.com/v1/*', method: 'POST', status: 500, body: 'not this one' },
    { url: 'https://api.example.com/v1/*', status: 201, headers: { 'x-a': '1' }, body: 'first' },
    { url: 'https://api.example.com/*', status: 202, body: 'second' },
  ];
  const runner = await loaded('echo-c.wasm', ECHO, { fetch });
  const first = await runner.handle(get('/fetch', [['x-fetch-url', 'https://api.example.com/v1/users?id=1']]));
  assert.equal(first.status, 200);
  assert.equal(text(first.body), 'first');
  assert.equal(header(first, 'x-upstream-status'), '201');
  assert.deepEqual(first.fetches, [{ method: 'GET', url: 'https://api.example.com/v1/users?id=1', matched: true }]);
  const second = await runner.handle(get('/fetch', [['x-fetch-url', 'https://api.example.com/other']]));
  assert.equal(text(second.body), 'second');
  // '.' is literal and the glob is anchored: a look-alike host is denied
  const denied = await runner.handle(get('/fetch', [['x-fetch-url', 'https://apixexample.com/v1/x']]));
  assert.equal(denied.status, 403);
  assert.match(text(denied.body), /not allowed: no fetch rule matches it/);
  assert.deepEqual(denied.fetches, [{ method: 'GET', url: 'https://apixexample.com/v1/x', matched: false }]);
  const none = await loaded('echo-c.wasm', ECHO, {});
  assert.equal((await none.handle(get('/fetch', [['x-fetch-url', 'https://api.example.com/']]))).status, 403);
});

test('tcp-echo: bytes sent come back as bytes; close ends it', needs, async () => {
  const runner = await loaded('tcp-echo-c.wasm', { name: 'tcp-echo-c', kind: 'tcp', stores: [] });
  const opened = await runner.handle({ type: 'open', kind: 'tcp' });
  assert.equal(opened.type, 'opened');
  assert.deepEqual([opened.output, opened.closed], [[], false]);
  const out = await runner.handle({ type: 'send', data: 'hello\n', binary: false });
  assert.equal(out.type, 'output');
  assert.equal(out.output.length, 1);
  assert.equal(out.output[0].binary, true);
  assert.equal(text(out.output[0].data), 'hello\n');
  const bin = await runner.handle({ type: 'send', data: Uint8Array.of(0, 1, 255), binary: true });
  assert.deepEqual([...bin.output[0].data], [0, 1, 255]);
  assert.deepEqual(transferables(bin), [bin.output[0].data.buffer]);
  const closed = await runner.handle({ type: 'close' });
  assert.deepEqual([closed.type, closed.output, closed.closed], ['output', [], true]);
  // sending on a closed connection answers closed, nothing runs
  assert.deepEqual((await runner.handle({ type: 'send', data: 'x', binary: false })).closed, true);
});

test('echo /ws: text comes back as a string, binary as bytes', needs, async () => {
  const runner = await loaded('echo-c.wasm', ECHO);
  assert.equal((await runner.handle({ type: 'open', kind: 'websocket', path: '/ws' })).closed, false);
  const t = await runner.handle({ type: 'send', data: 'héllo', binary: false });
  assert.deepEqual(t.output, [{ data: 'héllo', binary: false }]);
  const b = await runner.handle({ type: 'send', data: Uint8Array.of(9, 8), binary: true });
  assert.deepEqual(b.output.map((m) => [[...m.data], m.binary]), [[[9, 8], true]]);
  const closed = await runner.handle({ type: 'close' });
  assert.deepEqual([closed.closed, closed.close], [true, { code: 1000, reason: '', by: 'peer' }]);
  // a WebSocket to a path without a WebSocket route is refused with the routes it has
  const wrong = await runner.handle({ type: 'open', kind: 'websocket', path: '/echo/x' });
  assert.deepEqual([wrong.type, wrong.kind], ['error', 'route']);
  assert.match(wrong.message, /no WebSocket route of echo-c matches \/echo\/x \(WebSocket routes: \/ws\)/);
});

test('routes as plain pattern strings (GET /api/service): any route may take the WebSocket', needs, async () => {
  const runner = await loaded('echo-c.wasm', { ...ECHO, routes: ['/echo/...', '/fetch', '/ws'] });
  assert.equal((await runner.handle({ type: 'open', kind: 'websocket', path: '/ws' })).closed, false);
  assert.deepEqual((await runner.handle({ type: 'send', data: 'a', binary: false })).output, [{ data: 'a', binary: false }]);
  const fetched = await runner.handle(get('/fetch', [['x-fetch-url', 'https://x.test/']]));
  assert.deepEqual([fetched.status, fetched.fetches.length], [403, 1]);
});

test('ws-chat: the guest\'s own publish reaches the subscribed connection', needs, async () => {
  const runner = await loaded('ws-chat-c.wasm', { name: 'ws-chat-c', kind: 'websocket', routes: [{ path: '/chat', websocket: true }] });
  const opened = await runner.handle({ type: 'open', kind: 'websocket', path: '/chat?nick=ann' });
  assert.deepEqual(opened.output, [{ data: '* ann joined', binary: false }]);
  const said = await runner.handle({ type: 'send', data: 'hi', binary: false });
  assert.deepEqual(said.output, [{ data: 'ann: hi', binary: false }]);
  // re-opening closes the first connection (its "left" reaches nobody) and starts over
  const again = await runner.handle({ type: 'open', kind: 'websocket', path: '/chat' });
  assert.match(again.output[0].data, /^\* guest\d+ joined$/);
});

test('a guest that closes: closed with its code and reason; the WS_CLOSE log line comes with it', needs, async () => {
  const runner = await loaded('conn.wasm', {});
  await runner.handle({ type: 'open', kind: 'websocket', path: '/ws' });
  const out = await runner.handle({ type: 'send', data: 'close', binary: false });
  assert.deepEqual([out.output, out.closed, out.close], [[], true, { code: 4000, reason: 'enough', by: 'guest' }]);
  assert.deepEqual(out.log, [{ level: 'info', message: 'closed' }]);
  const refused = await runner.handle({ type: 'open', kind: 'websocket', path: '/refuse' });
  assert.deepEqual([refused.closed, refused.close.code], [true, 1008]);
});

test('a trap is an error of kind trap with the engine\'s message; the next request runs', needs, async () => {
  const runner = await loaded('trap.wasm', {});
  const res = await runner.handle(get('/'));
  assert.deepEqual([res.type, res.kind, res.message], ['error', 'trap', 'unreachable']);
  assert.deepEqual(res.kv, { default: {} });
  const conn = await loaded('conn.wasm', {});
  await conn.handle({ type: 'open', kind: 'websocket', path: '/ws' });
  const trapped = await conn.handle({ type: 'send', data: 't', binary: false });
  assert.deepEqual([trapped.type, trapped.kind], ['error', 'trap']);
  assert.equal((await conn.handle({ type: 'send', data: 'x', binary: false })).closed, true);
  await conn.handle({ type: 'open', kind: 'websocket', path: '/ws' });
  assert.deepEqual((await conn.handle({ type: 'send', data: 'x', binary: false })).output, [{ data: 'x', binary: false }]);
});

test('a guest that fails (negative return) is an error of kind guest', needs, async () => {
  const runner = await loaded('fail.wasm', {});
  const res = await runner.handle(get('/'));
  assert.deepEqual([res.type, res.kind], ['error', 'guest']);
  assert.match(res.message, /the guest failed \(returned -1\)/);
});

test('load errors: wasi-http components, non-wasm bytes, modules without the ABI, bad mocks', needs, async () => {
  const runner = new Runner();
  const component = Uint8Array.of(0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0);
  assert.deepEqual(await runner.handle({ type: 'load', wasm: component, component: { name: 'py' }, mocks: {} }),
    { type: 'error', kind: 'load', message: WASI_HTTP_MESSAGE });
  assert.deepEqual(await runner.handle({ type: 'load', wasm: wasm('hello-c.wasm'), component: { abi: 'wasi-http' }, mocks: {} }),
    { type: 'error', kind: 'load', message: WASI_HTTP_MESSAGE });
  assert.match(WASI_HTTP_MESSAGE, /wasi:http component \(Python\/JS\): it runs on the server; use Deploy/);
  const junk = await runner.handle({ type: 'load', wasm: new TextEncoder().encode('hello'), component: { name: 'x' }, mocks: {} });
  assert.deepEqual([junk.kind, junk.message], ['load', 'x: not a WebAssembly module (no \\0asm header)']);
  const empty = await runner.handle({ type: 'load', wasm: Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0), component: { name: 'e' }, mocks: {} });
  assert.deepEqual([empty.kind, empty.message], ['load', 'e: the module does not export memory']);
  const badKv = await runner.handle({ type: 'load', wasm: wasm('hello-c.wasm'), component: {}, mocks: { kv: { default: { n: 1 } } } });
  assert.match(badKv.message, /mocks.kv must be/);
  const badFetch = await runner.handle({ type: 'load', wasm: wasm('hello-c.wasm'), component: {}, mocks: { fetch: {} } });
  assert.match(badFetch.message, /mocks.fetch must be a list/);
  for (const rule of [{ url: 'x', status: 42 }, { url: 'x', body: { a: 1 } }, { url: 'x', headers: { a: 1 } }, { status: 200 }]) {
    const bad = await runner.handle({ type: 'load', wasm: wasm('hello-c.wasm'), component: {}, mocks: { fetch: [rule] } });
    assert.deepEqual([bad.kind, /mocks.fetch must be a list/.test(bad.message)], ['load', true], JSON.stringify(rule));
  }
  // nothing is loaded after a failed load
  assert.deepEqual(await runner.handle(get('/')), { type: 'error', kind: 'load', message: 'no module is loaded: build the service, then run it' });
});

for (const lang of ['c', 'cpp', 'rust', 'go', 'ts']) {
  test(`hello and kv-counter in ${lang} run in the runner`, needs, async () => {
    const hello = await loaded(`hello-${lang}.wasm`, { name: `hello-${lang}`, routes: ['/...'] });
    const res = await hello.handle(get('/x'));
    assert.equal(res.type, 'response', JSON.stringify(res));
    assert.equal(res.status, 200);
    assert.match(text(res.body), /^Hello/);
    const kv = await loaded(`kv-counter-${lang}.wasm`, KV(`kv-counter-${lang}`), { kv: { default: { counter: '41' } } });
    const counted = await kv.handle(post('/count'));
    assert.equal(counted.type, 'response', JSON.stringify(counted));
    assert.equal(text(counted.body).trim(), '42');
    assert.deepEqual(counted.kv, { default: { counter: '42' } });
  });
}

test('a WAGI program runs CGI style, once per request; it takes no connections', needs, async () => {
  for (const lang of ['c', 'go']) {
    const runner = await loaded(`wagi-hello-${lang}.wasm`, { name: `wagi-hello-${lang}`, abi: 'wagi', routes: ['/...'] });
    const res = await runner.handle(get('/x/y?z=1'));
    assert.equal(res.type, 'response', JSON.stringify(res));
    assert.equal(res.status, 200);
    assert.match(text(res.body), /^Hello from .* \(WAGI\)\npath: \/x\/y\n/);
    const conn = await runner.handle({ type: 'open', kind: 'websocket', path: '/ws' });
    assert.deepEqual([conn.type, conn.kind], ['error', 'load']);
    assert.match(conn.message, /is a WAGI program: it answers HTTP requests only/);
  }
});

test('sse-clock: a streamed response comes back whole, marked streamed, with the ticks a second apart', needs, async () => {
  const runner = await loaded('sse-clock-c.wasm', { name: 'sse-clock-c', routes: ['/clock'], timeout_ms: 3600000 });
  const res = await runner.handle(get('/clock?n=3'));
  assert.deepEqual([res.type, res.status, res.streamed], ['response', 200, true]);
  const times = text(res.body).split('\n\n').filter(Boolean).map((e) => Date.parse(e.match(/data: (.*)/)[1]));
  assert.deepEqual([times.length, times[1] - times[0], times[2] - times[1]], [3, 1000, 1000]);
  assert.equal((await runner.handle(get('/clock?n=0'))).streamed, false);
});

test('dns: UDP datagrams in, udp_send answers out, using the mocked variables', needs, async () => {
  const runner = await loaded('dns-c.wasm', { name: 'dns-c', kind: 'udp', stores: ['default'], variables: { 'hello.wasm.test A': '192.0.2.10' } },
    { variables: { 'hello.wasm.test A': '198.51.100.7' } });
  assert.deepEqual((await runner.handle({ type: 'open', kind: 'udp' })).closed, false);
  const name = ['hello', 'wasm', 'test'].flatMap((l) => [l.length, ...Buffer.from(l)]);
  const query = Uint8Array.of(0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name, 0, 0, 1, 0, 1);
  const out = await runner.handle({ type: 'send', data: query, binary: true });
  assert.equal(out.output.length, 1);
  const answer = Buffer.from(out.output[0].data);
  assert.equal(out.output[0].binary, true);
  assert.equal(answer.readUInt16BE(0), 0xabcd);
  assert.ok(answer.includes(Buffer.from([198, 51, 100, 7])));
  assert.deepEqual((await runner.handle({ type: 'close' })).closed, true);
});

test('Go: time.Sleep (poll_oneoff) works and fmt output arrives as whole log lines', needs, async () => {
  const runner = await loaded('sleeper-go.wasm', { name: 'sleeper-go' });
  const res = await runner.handle(get('/nap'));
  assert.equal(res.type, 'response', JSON.stringify(res.log));
  assert.equal(text(res.body), 'slept\n');
  assert.deepEqual(res.log, [{ level: 'info', message: 'slept on /nap' }, { level: 'warn', message: 'no newline' }]);
});

test('globs: * is any run, everything else literal, anchored', () => {
  assert.ok(globToRegExp('https://api.example.com/*').test('https://api.example.com/a/b?c=1'));
  assert.ok(!globToRegExp('https://api.example.com/*').test('https://api.example.com.evil/a'));
  assert.ok(!globToRegExp('https://a.b/x').test('https://aab/x'));
  assert.ok(globToRegExp('https://*.example.com/(v1)').test('https://eu.example.com/(v1)'));
});

test('routes are picked like the server\'s router: exact, literals, parameters, prefixes', () => {
  const routes = ['/...', '/api/...', '/api/users/{id}', '/api/users/me', { path: '/ws', websocket: true }, { path: '/only-post', methods: ['post'] }].map(compileRoute);
  assert.deepEqual(pickRoute(routes, 'GET', '/api/users/me', false), { route: '/api/users/me', base: '', pathInfo: '/api/users/me', params: [] });
  assert.deepEqual(pickRoute(routes, 'GET', '/api/users/42', false), { route: '/api/users/{id}', base: '', pathInfo: '/api/users/42', params: [['id', '42']] });
  assert.deepEqual(pickRoute(routes, 'GET', '/api/x/y', false), { route: '/api/...', base: '/api', pathInfo: '/x/y', params: [] });
  assert.deepEqual(pickRoute(routes, 'GET', '/other', false), { route: '/...', base: '', pathInfo: '/other', params: [] });
  assert.equal(pickRoute(routes, 'GET', '/ws', true).route, '/ws');
  assert.equal(pickRoute(routes, 'GET', '/only-post', false).route, '/...');
  assert.equal(pickRoute(routes, 'POST', '/only-post', false).route, '/only-post');
});
