import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Text } from '@codemirror/state';
import { diagnosticLocation, diagnosticRange, diagnosticsForFile, normalizeFile, toLintDiagnostics } from '../src/lintmap.mjs';

const doc = Text.of(['#include <x.h>', '', 'int main(void) {', '    ws_respond(200, greeting)', '    return 0;', '}']);
const at = (line, col) => doc.line(line).from + col - 1;

test('a line and column mark the identifier that starts there', () => {
  const r = diagnosticRange(doc, { line: 4, column: 5 });
  assert.deepEqual(r, { from: at(4, 5), to: at(4, 15) });
  assert.equal(doc.sliceString(r.from, r.to), 'ws_respond');
});

test('a column on punctuation marks that one character', () => {
  const r = diagnosticRange(doc, { line: 4, column: 29 });
  assert.equal(doc.sliceString(r.from, r.to), ')');
});

test('a column at the end of the line marks the last character', () => {
  const r = diagnosticRange(doc, { line: 4, column: 99 });
  assert.equal(doc.sliceString(r.from, r.to), ')');
});

test('no column marks the line without its indentation', () => {
  const r = diagnosticRange(doc, { line: 5, column: 0 });
  assert.equal(doc.sliceString(r.from, r.to), 'return 0;');
  assert.equal(doc.sliceString(...Object.values(diagnosticRange(doc, { line: 5 }))), 'return 0;');
});

test('an empty line gives an empty range at its start', () => {
  assert.deepEqual(diagnosticRange(doc, { line: 2, column: 3 }), { from: doc.line(2).from, to: doc.line(2).from });
});

test('lines past the end or before the start are clamped', () => {
  assert.equal(doc.lineAt(diagnosticRange(doc, { line: 99, column: 1 }).from).number, 6);
  assert.equal(doc.lineAt(diagnosticRange(doc, { line: -3, column: 1 }).from).number, 1);
});

test('file paths are matched after normalising ./ and backslashes', () => {
  assert.equal(normalizeFile('./src/main.rs'), 'src/main.rs');
  assert.equal(normalizeFile('src\\main.rs'), 'src/main.rs');
  const diags = [{ file: './main.go', line: 1 }, { file: 'other.go', line: 1 }];
  assert.deepEqual(diagnosticsForFile(diags, 'main.go'), [diags[0]]);
});

test('toLintDiagnostics maps severity and keeps only the file\'s diagnostics', () => {
  const diags = [
    { file: 'main.c', line: 4, column: 5, severity: 'error', message: 'implicit declaration' },
    { file: 'main.c', line: 5, column: 5, severity: 'warning', message: 'unused' },
    { file: 'main.c', line: 1, column: 1, severity: 'note', message: 'included here' },
    { file: 'util.c', line: 1, column: 1, severity: 'error', message: 'elsewhere' },
  ];
  const out = toLintDiagnostics(doc, diags, 'main.c');
  assert.deepEqual(out.map((d) => d.severity), ['error', 'warning', 'info']);
  assert.deepEqual(out.map((d) => d.message), ['implicit declaration', 'unused', 'included here']);
  assert.equal(doc.sliceString(out[0].from, out[0].to), 'ws_respond');
  assert.equal(out[1].from, at(5, 5));
});

test('the list shows file:line:column', () => {
  assert.equal(diagnosticLocation({ file: './a.c', line: 3, column: 7 }), 'a.c:3:7');
  assert.equal(diagnosticLocation({ file: 'app.py', line: 3, column: 0 }), 'app.py:3');
});
