// The mocks the runner gets (KV, variables, fetch rules), parsed and checked from the panel's JSON.

/** The fetch rules a new component starts with: one example, harmless (no real host). */
export const EXAMPLE_FETCH = [
  { url: 'https://api.example.com/*', method: 'GET', status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok": true}' },
];

function parseJson(textValue, what) {
  const source = String(textValue ?? '').trim();
  if (!source) return undefined;
  try {
    return JSON.parse(source);
  } catch (err) {
    throw new Error(`${what}: not valid JSON (${err.message})`);
  }
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const asString = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

/** `{label: {key: "value"}}`; non-string values become their JSON text. Throws with what is wrong. */
export function parseKv(textValue) {
  const value = parseJson(textValue, 'KV stores') ?? {};
  if (!isObject(value)) throw new Error('KV stores: expected an object {"label": {"key": "value"}}');
  const out = {};
  for (const [label, entries] of Object.entries(value)) {
    if (!isObject(entries)) throw new Error(`KV stores: "${label}" must be an object of key → value`);
    out[label] = Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, asString(v)]));
  }
  return out;
}

/** `{name: "value"}`; non-string values become their JSON text. */
export function parseVariables(textValue) {
  const value = parseJson(textValue, 'Variables') ?? {};
  if (!isObject(value)) throw new Error('Variables: expected an object {"name": "value"}');
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asString(v)]));
}

/** `[{url, method?, status, headers, body}]` with defaults filled in. */
export function parseFetchRules(textValue) {
  const value = parseJson(textValue, 'Fetch rules') ?? [];
  if (!Array.isArray(value)) throw new Error('Fetch rules: expected a list [{"url": "https://host/*", "status": 200, ...}]');
  return value.map((rule, i) => {
    if (!isObject(rule) || typeof rule.url !== 'string' || !rule.url) {
      throw new Error(`Fetch rules: rule ${i + 1} needs a "url" (a glob such as "https://api.example.com/*")`);
    }
    const status = rule.status === undefined ? 200 : Number(rule.status);
    if (!Number.isInteger(status) || status < 100 || status > 599) throw new Error(`Fetch rules: rule ${i + 1} has a bad status`);
    if (rule.headers !== undefined && !isObject(rule.headers)) throw new Error(`Fetch rules: rule ${i + 1}: "headers" must be an object`);
    const out = { url: rule.url, status, headers: Object.fromEntries(Object.entries(rule.headers ?? {}).map(([k, v]) => [k, String(v)])), body: asString(rule.body ?? '') };
    if (rule.method) out.method = String(rule.method).toUpperCase();
    return out;
  });
}

/** KV stores a component starts with: an empty object per store it declares. */
export function defaultKv(component) {
  return Object.fromEntries((component?.stores ?? []).map((label) => [label, {}]));
}

/** Variables a component starts with: the manifest's defaults ("" where it has none). */
export function defaultVariables(component) {
  return Object.fromEntries(Object.entries(component?.variables ?? {}).map(([name, value]) => [name, value ?? '']));
}

/** Pretty JSON for a textarea. */
export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

/**
 * What a run changed in the KV stores: [{label, key, op: 'set' | 'deleted', value?}], sorted.
 * `before` and `after` have the {label: {key: "value"}} shape; a missing label counts as empty.
 */
export function kvChanges(before, after) {
  const changes = [];
  const labels = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const label of [...labels].sort()) {
    const old = before?.[label] ?? {};
    const now = after?.[label] ?? {};
    for (const key of [...new Set([...Object.keys(old), ...Object.keys(now)])].sort()) {
      if (!(key in now)) changes.push({ label, key, op: 'deleted' });
      else if (old[key] !== now[key]) changes.push({ label, key, op: 'set', value: now[key] });
    }
  }
  return changes;
}
