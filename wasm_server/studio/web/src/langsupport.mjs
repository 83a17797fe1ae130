// CodeMirror language support for a file, by languages.mjs's name for it. Each language is
// loaded on first use (a separate chunk of the bundle): the page starts without the parsers.
import { languageOf } from './languages.mjs';

const LOADERS = {
  // lang-cpp parses C as well (C is nearly always valid C++ syntax)
  c: () => import('@codemirror/lang-cpp').then((m) => m.cpp()),
  cpp: () => import('@codemirror/lang-cpp').then((m) => m.cpp()),
  rust: () => import('@codemirror/lang-rust').then((m) => m.rust()),
  go: () => import('@codemirror/lang-go').then((m) => m.go()),
  typescript: () => import('@codemirror/lang-javascript').then((m) => m.javascript({ typescript: true })),
  javascript: () => import('@codemirror/lang-javascript').then((m) => m.javascript()),
  json: () => import('@codemirror/lang-javascript').then((m) => m.javascript()),
  python: () => import('@codemirror/lang-python').then((m) => m.python()),
  toml: () => Promise.all([import('@codemirror/language'), import('@codemirror/legacy-modes/mode/toml')])
    .then(([language, mode]) => language.StreamLanguage.define(mode.toml)),
};

/** The language extension for `path` ([] for plain text, or when its chunk fails to load). */
export async function loadLanguage(path) {
  const load = LOADERS[languageOf(path)];
  if (!load) return [];
  try {
    return await load();
  } catch (err) {
    console.error(`could not load the syntax highlighting for ${path}`, err);
    return [];
  }
}
