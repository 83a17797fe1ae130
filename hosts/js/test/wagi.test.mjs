// WAGI on the JS host: the CGI environment and output parsing (as
// wasm_server/executors/wagi.py), and the wagi-hello C example run CGI style.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GuestError } from '../host.mjs';
import { WagiModule, cgiEnvironment, parseCgiOutput, unquote } from '../wagi.mjs';

const dir = process.env.WASM_SERVER_TEST_MODULES;
const enc = (s) => new TextEncoder().encode(s);
const text = (b) => Buffer.from(b).toString();

test('the CGI environment carries the request like the server\'s', () => {
  const env = cgiEnvironment({
    method: 'POST', url: '/api/a%20b?x=1&y=%C3%A9', route: '/api/...', base: '/api', pathInfo: '/a%20b',
    client: '[::1]:5000', params: [['id', '7']], headers: [['content-type', 'text/plain'], ['x-test', 'v'], ['authorization', 'secret'], ['host', 'h:1']],
    body: enc('body'),
  });
  assert.equal(env.REQUEST_METHOD, 'POST');
  assert.equal(env.PATH_INFO, '/a b');
  assert.equal(env.X_RAW_PATH_INFO, '/a%20b');
  assert.equal(env.SCRIPT_NAME, '/api');
  assert.equal(env.QUERY_STRING, 'x=1&y=%C3%A9');
  assert.equal(env.REMOTE_ADDR, '::1');
  assert.equal(env.CONTENT_LENGTH, '4');
  assert.equal(env.CONTENT_TYPE, 'text/plain');
  assert.equal(env.HTTP_X_TEST, 'v');
  assert.equal(env.HTTP_AUTHORIZATION, undefined);
  assert.equal(env.X_MATCHED_ROUTE, '/api/...');
  assert.equal(env.X_FULL_URL, 'http://h:1/api/a%20b?x=1&y=%C3%A9');
  assert.equal(env.X_PARAM_ID, '7');
  assert.equal(unquote('%C3%A9%zz%'), 'é%zz%');
});

test('CGI output: Status, Location means 302, CRLF or LF, malformed heads refused', () => {
  assert.deepEqual(parseCgiOutput(enc('Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope')),
    { status: 404, headers: [['Content-Type', 'text/plain']], body: enc('nope') });
  assert.equal(parseCgiOutput(enc('Location: /elsewhere\n\n')).status, 302);
  assert.throws(() => parseCgiOutput(enc('Content-Type: text/plain\nbody without a blank line')), GuestError);
  assert.throws(() => parseCgiOutput(enc('no colon here\n\n')), /malformed CGI header line/);
  assert.throws(() => parseCgiOutput(enc('Status: 99\n\n')), /bad CGI Status/);
});

test('wagi-hello runs once per request with PATH_INFO from the request', { skip: !dir }, async () => {
  const wagi = await WagiModule.compile(readFileSync(join(dir, 'wagi-hello.wasm')), { name: 'wagi-hello-c' });
  const res = wagi.handleHttp({ method: 'GET', url: '/x/y?z=1', pathInfo: '/x/y' });
  assert.equal(res.status, 200);
  assert.deepEqual(res.headers, [['Content-Type', 'text/plain; charset=utf-8']]);
  assert.equal(text(res.body), 'Hello from C (WAGI)\npath: /x/y\n');
  assert.equal(text(wagi.handleHttp({ method: 'GET', url: '/again', pathInfo: '/again' }).body), 'Hello from C (WAGI)\npath: /again\n');
});

test('a native module is not a WAGI program', { skip: !dir }, async () => {
  await assert.rejects(WagiModule.compile(readFileSync(join(dir, 'hello.wasm')), { name: 'hello' }), /needs a WASI command exporting _start/);
});
