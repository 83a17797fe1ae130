import { test } from 'node:test';
import assert from 'node:assert/strict';
import { languageOf } from '../src/languages.mjs';
import { mainFile, problemsByFile } from '../src/studiofiles.mjs';
import { treeRows } from '../src/treerows.mjs';

test('files map to languages by extension', () => {
  const cases = {
    'main.c': 'c', 'include/util.h': 'c', 'main.cpp': 'cpp', 'x.hpp': 'cpp', 'x.cc': 'cpp',
    'src/lib.rs': 'rust', 'main.go': 'go', 'assembly/index.ts': 'typescript', 'app.js': 'javascript',
    'app.py': 'python', 'wasm-server.toml': 'toml', 'Cargo.toml': 'toml', 'MAIN.C': 'c',
  };
  for (const [path, lang] of Object.entries(cases)) assert.equal(languageOf(path), lang, path);
});

test('files without a known extension are plain text', () => {
  for (const path of ['Makefile', 'go.mod', '.gitignore', 'README', 'notes.txt', 'dir.c/README']) assert.equal(languageOf(path), null, path);
});

test('the main file of each template is opened first, else the manifest', () => {
  assert.equal(mainFile(['wasm-server.toml', 'main.c']), 'main.c');
  assert.equal(mainFile(['Cargo.toml', 'src/lib.rs', 'wasm-server.toml']), 'src/lib.rs');
  assert.equal(mainFile(['asconfig.json', 'assembly/index.ts', 'wasm-server.toml']), 'assembly/index.ts');
  assert.equal(mainFile(['wasm-server.toml', 'x.txt']), 'wasm-server.toml');
  assert.equal(mainFile(['x.txt']), 'x.txt');
  assert.equal(mainFile([]), null);
});

test('problemsByFile: an error wins over a warning', () => {
  const p = problemsByFile([
    { file: 'a.c', severity: 'warning' }, { file: './a.c', severity: 'error' }, { file: 'a.c', severity: 'warning' },
    { file: 'b.c', severity: 'warning' }, { file: 'c.c', severity: 'note' },
  ]);
  assert.deepEqual([...p.entries()], [['a.c', 'error'], ['b.c', 'warning']]);
});

test('treeRows lists directories before files, each once, indented', () => {
  const rows = treeRows([{ path: 'wasm-server.toml', size: 1 }, { path: 'src/main.rs', size: 2 }, { path: 'src/bin/x.rs', size: 3 }, { path: 'Cargo.toml', size: 4 }]);
  assert.deepEqual(rows.map((r) => `${'  '.repeat(r.depth)}${r.dir ? `${r.name}/` : r.name}`),
    ['src/', '  bin/', '    x.rs', '  main.rs', 'Cargo.toml', 'wasm-server.toml']);
  assert.equal(rows.find((r) => r.name === 'x.rs').path, 'src/bin/x.rs');
});
