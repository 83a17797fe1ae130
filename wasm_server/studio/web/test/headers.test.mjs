import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHeaders, parseHeaders } from '../src/headers.mjs';

test('header lines become lower-cased [name, value] pairs in order, repeats kept', () => {
  assert.deepEqual(parseHeaders('Accept: application/json\nX-Trace:  a:b \nx-trace: c'),
    [['accept', 'application/json'], ['x-trace', 'a:b'], ['x-trace', 'c']]);
});

test('blank lines, comments and CRLF are ignored', () => {
  assert.deepEqual(parseHeaders('\r\n# a comment\r\ncontent-type: text/plain\r\n\r\n'), [['content-type', 'text/plain']]);
  assert.deepEqual(parseHeaders(''), []);
  assert.deepEqual(parseHeaders(undefined), []);
});

test('an empty value is allowed', () => {
  assert.deepEqual(parseHeaders('x-empty:'), [['x-empty', '']]);
});

test('a line without a colon names its line number', () => {
  assert.throws(() => parseHeaders('accept: */*\nnot a header'), /header line 2: expected "name: value"/);
  assert.throws(() => parseHeaders(': value'), /header line 1/);
});

test('an invalid header name is refused', () => {
  assert.throws(() => parseHeaders('bad name: x'), /"bad name" is not a valid header name/);
});

test('formatHeaders is the inverse for display', () => {
  assert.equal(formatHeaders([['a', '1'], ['b', '2']]), 'a: 1\nb: 2');
  assert.deepEqual(parseHeaders(formatHeaders([['a', '1'], ['b', 'x: y']])), [['a', '1'], ['b', 'x: y']]);
});
