// TCP and WebSocket events on real guests: the C examples tcp-echo, echo
// (its /ws echoes messages) and ws-chat (pub/sub), built by
// tests/hosts/test_js_host.py into WASM_SERVER_TEST_MODULES.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Connection, GuestError, GuestModule } from '../host.mjs';
import { Kind, Reader, decodeRequest, encodeConnect, encodeWsClose, encodeWsMessage, encodeWsOpen } from '../abi.mjs';

const dir = process.env.WASM_SERVER_TEST_MODULES;
const load = (name, options) => GuestModule.compile(readFileSync(join(dir, name)), options);
const text = (b) => Buffer.from(b).toString();
const ws = { method: 'GET', url: '/ws', route: '/ws', headers: [['upgrade', 'websocket']] };

test('the connection encodings are the ones of docs/abi.md', () => {
  assert.deepEqual([...encodeConnect(7, 'p', 'lo')], [7, 0, 0, 0, 1, 0, 0, 0, 112, 2, 0, 0, 0, 108, 111]);
  assert.deepEqual([...encodeWsMessage(1, true, 'a')], [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 97]);
  assert.deepEqual([...encodeWsClose(2, 1000, '')], [2, 0, 0, 0, 0xe8, 3, 0, 0, 0, 0, 0, 0]);
  const open = encodeWsOpen(3, { method: 'GET', url: '/ws?x=1', headers: [['a', 'b']] });
  const r = new Reader(open);
  assert.equal(r.u32(), 3);
  const req = decodeRequest(open.subarray(4));
  assert.equal(text(req.url), '/ws?x=1');
  assert.deepEqual(req.headers.map(([n, v]) => [text(n), text(v)]), [['a', 'b']]);
});

test('tcp-echo: TCP_DATA comes back through conn_send, TCP_CLOSE ends it', { skip: !dir }, async () => {
  const conn = (await load('tcp-echo.wasm')).instantiate().openConnection('tcp', { peer: '10.0.0.1:5000', local: '127.0.0.1:7' });
  assert.ok(conn instanceof Connection);
  assert.deepEqual(conn.take(), []);
  conn.instance.connectionData(conn, 'hello');
  conn.instance.connectionData(conn, Uint8Array.of(0, 255));
  assert.deepEqual(conn.take().map(({ data, binary }) => [Buffer.from(data).toString('hex'), binary]),
    [[Buffer.from('hello').toString('hex'), true], ['00ff', true]]);
  conn.instance.closeConnection(conn);
  assert.equal(conn.closed, true);
  assert.equal(conn.closedBy, 'peer');
  assert.throws(() => conn.instance.connectionData(conn, 'late'), GuestError);
});

test('echo: a WebSocket message comes back with its kind (ws_send)', { skip: !dir }, async () => {
  const conn = (await load('echo.wasm')).instantiate().openConnection('websocket', ws);
  assert.equal(conn.closed, false);
  conn.instance.wsMessage(conn, 'héllo', false);
  conn.instance.wsMessage(conn, Uint8Array.of(1, 2, 3), true);
  const out = conn.take();
  assert.deepEqual(out.map((m) => m.binary), [false, true]);
  assert.equal(text(out[0].data), 'héllo');
  assert.deepEqual([...out[1].data], [1, 2, 3]);
  conn.instance.closeConnection(conn, 1001, 'going');
  assert.deepEqual([conn.closed, conn.closeCode, conn.closeReason, conn.closedBy], [true, 1001, 'going', 'peer']);
});

test('ws-chat: subscribe and publish reach every subscribed connection of the module', { skip: !dir }, async () => {
  const guest = await load('ws-chat.wasm');
  const open = (nick) => guest.instantiate().openConnection('websocket', { method: 'GET', url: `/chat?nick=${nick}`, route: '/chat' });
  const ann = open('ann');
  assert.deepEqual(ann.take().map((m) => text(m.data)), ['* ann joined']);
  const bob = open('bob');
  assert.deepEqual(ann.take().map((m) => text(m.data)), ['* bob joined']);
  assert.deepEqual(bob.take().map((m) => text(m.data)), ['* bob joined']);
  bob.instance.wsMessage(bob, 'hi all', false);
  assert.deepEqual(ann.take().map((m) => [text(m.data), m.binary]), [['bob: hi all', false]]);
  assert.deepEqual(bob.take().map((m) => text(m.data)), ['bob: hi all']);
  bob.instance.closeConnection(bob);
  assert.deepEqual(ann.take().map((m) => text(m.data)), ['* bob left']);
  assert.deepEqual(bob.take(), []);
  assert.equal(guest.connections.has(bob.id), false);
});

test('conn_close ends the connection after the event, with the guest\'s code; WS_CLOSE comes last', { skip: !dir }, async () => {
  const lines = [];
  const inst = (await load('conn.wasm', { log: (level, message) => lines.push(message) })).instantiate();
  const conn = inst.openConnection('websocket', ws);
  inst.wsMessage(conn, 'echo me');
  assert.deepEqual(conn.take().map((m) => text(m.data)), ['echo me']);
  inst.wsMessage(conn, 'close');
  // the send after conn_close in the same event does not arrive
  assert.deepEqual(conn.take(), []);
  assert.deepEqual([conn.closed, conn.closeCode, conn.closeReason, conn.closedBy], [true, 4000, 'enough', 'guest']);
  assert.deepEqual(lines, ['closed']);
  assert.throws(() => inst.wsMessage(conn, 'more'), GuestError);
  assert.deepEqual(lines, ['closed']);
});

test('a negative return closes with 1008 (open) or 1011 (message); a trap closes without WS_CLOSE', { skip: !dir }, async () => {
  const lines = [];
  const guest = await load('conn.wasm', { log: (level, message) => lines.push(message) });
  const refused = guest.instantiate().openConnection('websocket', { ...ws, url: '/refuse' });
  assert.deepEqual([refused.closed, refused.closeCode, refused.closedBy], [true, 1008, 'guest']);
  const failing = guest.instantiate().openConnection('websocket', ws);
  failing.instance.wsMessage(failing, 'r');
  assert.deepEqual([failing.closed, failing.closeCode], [true, 1011]);
  assert.deepEqual(lines, ['closed', 'closed']);
  const trapping = guest.instantiate().openConnection('websocket', ws);
  assert.throws(() => trapping.instance.wsMessage(trapping, 't'), WebAssembly.RuntimeError);
  assert.deepEqual([trapping.closed, trapping.closedBy], [true, 'trap']);
  assert.deepEqual(lines, ['closed', 'closed']);
  assert.equal(guest.connections.size, 0);
});

test('conn_send on a WebSocket is a binary message; an unknown connection id is NOT_FOUND', { skip: !dir }, async () => {
  const inst = (await load('echo.wasm')).instantiate();
  const conn = inst.openConnection('websocket', { ...ws, client: '[::1]:5000' });
  // the host's own import functions, called the way a guest calls them
  const mem = inst.mem();
  mem.set(new TextEncoder().encode('raw'), 64);
  const caps = inst.capabilities;
  assert.equal(caps.conn_send(conn.id, 64, 3), 0);
  assert.deepEqual(conn.take().map((m) => [text(m.data), m.binary]), [['raw', true]]);
  assert.equal(caps.conn_send(conn.id + 1000, 64, 3), -1);
  assert.equal(caps.conn_peer(conn.id), 10n);
  assert.equal(caps.result_read(128, 10), 10);
  assert.equal(text(inst.mem().subarray(128, 138)), '[::1]:5000');
});
