// CodeMirror language support for a file, by languages.mjs's name for it.
import { cpp } from '@codemirror/lang-cpp';
import { rust } from '@codemirror/lang-rust';
import { go } from '@codemirror/lang-go';
import { javascript } from '@codemirror/lang-javascript';
import { python } from '@codemirror/lang-python';
import { StreamLanguage } from '@codemirror/language';
import { toml } from '@codemirror/legacy-modes/mode/toml';
import { languageOf } from './languages.mjs';

const tomlLanguage = StreamLanguage.define(toml);

const SUPPORT = {
  c: () => cpp(), // lang-cpp parses C as well (a C file is nearly always valid C++ syntax)
  cpp: () => cpp(),
  rust: () => rust(),
  go: () => go(),
  typescript: () => javascript({ typescript: true }),
  javascript: () => javascript(),
  json: () => javascript(),
  python: () => python(),
  toml: () => tomlLanguage,
};

/** The language extension for `path` ([] for plain text). */
export function languageExtension(path) {
  const make = SUPPORT[languageOf(path)];
  return make ? make() : [];
}
