// Compiler diagnostics ({file, line, column, severity, message}) → CodeMirror lint diagnostics.
//
// `doc` is anything with CodeMirror Text's `lines` and `line(n) → {from, to, text}`.

const SEVERITY = { error: 'error', warning: 'warning', note: 'info', info: 'info', hint: 'hint' };

/** Normalise a diagnostic's file to the service-relative posix path the file tree uses. */
export function normalizeFile(file) {
  return String(file ?? '').replace(/\\/g, '/').replace(/^(\.\/)+/, '');
}

/** The diagnostics of `diagnostics` that belong to `path`. */
export function diagnosticsForFile(diagnostics, path) {
  const want = normalizeFile(path);
  return (diagnostics ?? []).filter((d) => normalizeFile(d.file) === want);
}

/**
 * The [from, to) range a diagnostic marks: from its 1-based line/column over the identifier (or
 * the one character) there; the line's text (without leading blanks) when there is no column.
 * Lines and columns past the end are clamped, so a stale diagnostic still lands somewhere visible.
 */
export function diagnosticRange(doc, diagnostic) {
  const lineNo = Math.min(Math.max(1, Math.trunc(Number(diagnostic.line) || 1)), doc.lines);
  const line = doc.line(lineNo);
  const column = Math.trunc(Number(diagnostic.column) || 0);
  if (column < 1) {
    const indent = line.text.length - line.text.trimStart().length;
    const from = line.from + Math.min(indent, line.text.length);
    return { from: from === line.to ? line.from : from, to: line.to };
  }
  const offset = Math.min(column - 1, line.text.length);
  let end = offset;
  while (end < line.text.length && /[\w$]/.test(line.text[end])) end += 1;
  if (end === offset && offset < line.text.length) end += 1;
  if (end === offset && offset > 0) return { from: line.from + offset - 1, to: line.from + offset };
  return { from: line.from + offset, to: line.from + end };
}

/** CodeMirror lint diagnostics for `path` from a build's diagnostics. */
export function toLintDiagnostics(doc, diagnostics, path) {
  return diagnosticsForFile(diagnostics, path).map((d) => {
    const { from, to } = diagnosticRange(doc, d);
    return { from, to, severity: SEVERITY[d.severity] ?? 'error', message: String(d.message ?? ''), source: 'build' };
  });
}

/** "main.c:12:5" for the diagnostics list. */
export function diagnosticLocation(d) {
  return `${normalizeFile(d.file)}:${d.line ?? '?'}${d.column ? `:${d.column}` : ''}`;
}
