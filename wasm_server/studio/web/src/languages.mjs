// Which language a file is, by its name: picks the editor's syntax highlighting.

const BY_EXTENSION = {
  c: 'c', h: 'c',
  cpp: 'cpp', hpp: 'cpp', cc: 'cpp', cxx: 'cpp', hh: 'cpp', hxx: 'cpp',
  rs: 'rust',
  go: 'go',
  ts: 'typescript', mts: 'typescript',
  js: 'javascript', mjs: 'javascript', cjs: 'javascript', json: 'json',
  py: 'python',
  toml: 'toml',
};

/** The language of `path` ('c', 'cpp', 'rust', 'go', 'typescript', 'javascript', 'json', 'python', 'toml') or null. */
export function languageOf(path) {
  const name = String(path).split('/').pop() ?? '';
  if (name === 'go.mod' || name === 'go.sum') return null;
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return null; // no extension, or a hidden file such as .gitignore
  return BY_EXTENSION[name.slice(dot + 1).toLowerCase()] ?? null;
}

/** A short label for the status bar. */
export const LANGUAGE_LABELS = {
  c: 'C', cpp: 'C++', rust: 'Rust', go: 'Go', typescript: 'TypeScript', javascript: 'JavaScript',
  json: 'JSON', python: 'Python', toml: 'TOML',
};
