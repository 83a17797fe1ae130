// The request headers textarea: one `name: value` per line.

/**
 * Parse `name: value` lines into [[name, value]] pairs (order and repeats kept).
 * Blank lines and lines starting with '#' are skipped; a line without ':' or with an
 * invalid name throws an Error naming the line, so the user sees what to fix.
 */
export function parseHeaders(textValue) {
  const headers = [];
  const lines = String(textValue ?? '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`header line ${index + 1}: expected "name: value", got "${line}"`);
    const name = line.slice(0, colon).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new Error(`header line ${index + 1}: "${name}" is not a valid header name`);
    }
    headers.push([name.toLowerCase(), line.slice(colon + 1).trim()]);
  });
  return headers;
}

/** Format [[name, value]] pairs as `name: value` lines. */
export function formatHeaders(headers) {
  return (headers ?? []).map(([name, value]) => `${name}: ${value}`).join('\n');
}
