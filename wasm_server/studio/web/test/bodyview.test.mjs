import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bodyView, hexView, jsonView, parseHex, preferredView, textView } from '../src/bodyview.mjs';

const enc = (s) => new TextEncoder().encode(s);

test('text view decodes UTF-8 and replaces invalid bytes', () => {
  assert.equal(textView(enc('héllo')), 'héllo');
  assert.equal(textView(new Uint8Array([0x61, 0xff])), 'a\ufffd');
  assert.equal(textView(undefined), '');
});

test('hex view: offset, 16 bytes split 8+8, printable ASCII', () => {
  const bytes = enc('Hello, world!\n\x00\x01ABC');
  const lines = hexView(bytes).split('\n');
  assert.equal(lines.length, 2);
  assert.equal(lines[0], '00000000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 0a 00 01  |Hello, world!...|');
  assert.equal(lines[1], `00000010  41 42 43${' '.repeat(41)} |ABC|`);
  assert.equal(hexView(new Uint8Array()), '(empty body)');
});

test('every hex row has the ASCII column at the same place', () => {
  const rows = hexView(new Uint8Array(40).fill(0x41)).split('\n');
  assert.deepEqual(rows.map((r) => r.indexOf('|')), [60, 60, 60]);
});

test('JSON view indents valid JSON', () => {
  assert.equal(jsonView(enc('{"a":[1,2],"b":"x"}')), '{\n  "a": [\n    1,\n    2\n  ],\n  "b": "x"\n}');
});

test('JSON view says why a body is not JSON and still shows it', () => {
  const out = jsonView(enc('hello'));
  assert.match(out, /^\(not JSON: /);
  assert.match(out, /\n\nhello$/);
  assert.equal(jsonView(enc('  ')), '(empty body)');
});

test('bodyView picks the view by mode, text by default', () => {
  assert.equal(bodyView(enc('hi'), 'text'), 'hi');
  assert.equal(bodyView(enc('hi'), 'hex'), hexView(enc('hi')));
  assert.equal(bodyView(enc('[1]'), 'json'), '[\n  1\n]');
  assert.equal(bodyView(enc('hi'), 'other'), 'hi');
});

test('preferredView follows the content type, then sniffs binary', () => {
  assert.equal(preferredView([['Content-Type', 'application/json; charset=utf-8']], enc('{}')), 'json');
  assert.equal(preferredView([['content-type', 'text/plain']], new Uint8Array([0, 1])), 'text');
  assert.equal(preferredView([], new Uint8Array([0x89, 0x50, 0, 0])), 'hex');
  assert.equal(preferredView([], enc('plain words')), 'text');
});

test('parseHex accepts spaced or packed pairs and refuses the rest', () => {
  assert.deepEqual([...parseHex('48 65 6C')], [0x48, 0x65, 0x6c]);
  assert.deepEqual([...parseHex('0aff')], [0x0a, 0xff]);
  assert.throws(() => parseHex('abc'), /not a hex string/);
  assert.throws(() => parseHex('zz'), /not a hex string/);
});
