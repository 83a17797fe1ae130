// Views of a response body: text, hex dump, pretty JSON.

const decoder = new TextDecoder('utf-8', { fatal: false });

/** The body as UTF-8 text (invalid sequences become U+FFFD). */
export function textView(body) {
  return decoder.decode(body ?? new Uint8Array());
}

/** A hex dump: offset, 16 bytes in hex, then the printable ASCII. */
export function hexView(body) {
  const bytes = body ?? new Uint8Array();
  if (bytes.length === 0) return '(empty body)';
  const rows = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const chunk = bytes.subarray(offset, offset + 16);
    const hex = [...chunk].map((b) => b.toString(16).padStart(2, '0'));
    const left = hex.slice(0, 8).join(' ');
    const right = hex.slice(8).join(' ');
    const ascii = [...chunk].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    rows.push(`${offset.toString(16).padStart(8, '0')}  ${`${left}  ${right}`.padEnd(49)} |${ascii}|`);
  }
  return rows.join('\n');
}

/** The body parsed as JSON and indented; a clear message when it is not JSON. */
export function jsonView(body) {
  const source = textView(body);
  if (!source.trim()) return '(empty body)';
  try {
    return JSON.stringify(JSON.parse(source), null, 2);
  } catch (err) {
    return `(not JSON: ${err.message})\n\n${source}`;
  }
}

/** The view named `mode` ('text' | 'hex' | 'json') of `body`. */
export function bodyView(body, mode) {
  if (mode === 'hex') return hexView(body);
  if (mode === 'json') return jsonView(body);
  return textView(body);
}

/** The view a response suggests by its content type: 'json' for JSON, 'hex' for binary, else 'text'. */
export function preferredView(headers, body) {
  const type = (headers ?? []).find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? '';
  if (/\bjson\b/i.test(type)) return 'json';
  if (/^(text\/|application\/(javascript|xml))/i.test(type)) return 'text';
  const bytes = body ?? new Uint8Array();
  const sample = bytes.subarray(0, 512);
  return sample.some((b) => b === 0 || (b < 0x09)) ? 'hex' : 'text';
}

/** Bytes from a hex string ("48 65 6c" or "48656c"); throws on odd length or bad digits. */
export function parseHex(source) {
  const digits = String(source).replace(/\s+/g, '');
  if (digits.length % 2 || /[^0-9a-fA-F]/.test(digits)) throw new Error('not a hex string (pairs of 0-9, a-f)');
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return out;
}
