// Facts about a service's files: which to open first, which have problems.
import { normalizeFile } from './lintmap.mjs';

/** The entry source each template has, in the order tried; the manifest when none. */
const MAIN_FILES = [
  'main.c', 'main.cpp', 'src/lib.rs', 'src/main.rs', 'main.go', 'assembly/index.ts', 'app.py', 'app.js', 'wasm-server.toml',
];

/** The file to open when a service is selected (null when it has none). */
export function mainFile(paths) {
  return MAIN_FILES.find((p) => paths.includes(p)) ?? paths[0] ?? null;
}

/** path → 'error' | 'warning' from a build's diagnostics (an error wins). */
export function problemsByFile(diagnostics) {
  const out = new Map();
  for (const d of diagnostics ?? []) {
    const file = normalizeFile(d.file);
    if (d.severity === 'error') out.set(file, 'error');
    else if (d.severity === 'warning' && out.get(file) !== 'error') out.set(file, 'warning');
  }
  return out;
}
