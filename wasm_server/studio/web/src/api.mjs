// The studio's HTTP API (wasm_server/studio/api.py): one function per call, errors as ApiError.

const TOKEN_KEY = 'wasm-server-studio-token';

/** An answer that is not 2xx: `status` and the server's `{"error"}` message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The token the user gave (kept for this browser tab only). */
export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Called with the ApiError when the server answers 401 (the app asks for a token). */
let onUnauthorized = () => {};
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/** `path` with the query parameters `params` (undefined values skipped). */
export function url(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null) query.set(key, String(value));
  const q = query.toString();
  return q ? `${path}?${q}` : path;
}

/** The message of a failed answer: its JSON `error`, else its text, else the status line. */
async function errorOf(response) {
  const body = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(body);
    if (parsed && typeof parsed.error === 'string') return parsed.error;
  } catch { /* not JSON */ }
  return body.trim().slice(0, 500) || `${response.status} ${response.statusText}`;
}

/**
 * fetch() with the studio's headers: the token, and `x-wasm-server-studio: 1` on every mutating
 * call (the server refuses a POST/PUT/DELETE without it: a cross-site form cannot send it).
 */
export async function request(method, path, { params, body, json, headers = {} } = {}) {
  const all = { ...headers };
  const token = getToken();
  if (token) all.authorization = `Bearer ${token}`;
  if (method !== 'GET' && method !== 'HEAD') all['x-wasm-server-studio'] = '1';
  let payload = body;
  if (json !== undefined) {
    payload = JSON.stringify(json);
    all['content-type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(url(path, params), { method, headers: all, body: payload });
  } catch (err) {
    throw new ApiError(0, `the studio server is unreachable (${err.message})`);
  }
  if (!response.ok) {
    const error = new ApiError(response.status, await errorOf(response));
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  return response;
}

async function getJson(path, params) {
  return (await request('GET', path, { params })).json();
}

export const api = {
  info: () => getJson('/api/info'),
  services: () => getJson('/api/services'),
  createService: (language, name) => request('POST', '/api/services', { json: { language, name } }).then((r) => r.json()),
  service: (service) => getJson('/api/service', { service }),
  files: (service) => getJson('/api/files', { service }),
  readFile: (service, path) => request('GET', '/api/file', { params: { service, path } }).then((r) => r.text()),
  writeFile: (service, path, text) => request('PUT', '/api/file', {
    params: { service, path }, body: text, headers: { 'content-type': 'text/plain; charset=utf-8' },
  }),
  deleteFile: (service, path) => request('DELETE', '/api/file', { params: { service, path } }),
  build: (service) => request('POST', '/api/build', { params: { service } }).then((r) => r.json()),
  module: (service, component) => request('GET', '/api/module', { params: { service, component } }).then((r) => r.arrayBuffer()),
  exportZip: (service) => request('GET', '/api/export', { params: { service } }),
  importZip: (name, blob) => request('POST', '/api/import', {
    params: { name }, body: blob, headers: { 'content-type': 'application/zip' },
  }).then((r) => r.json()),
  deploy: (service, app) => request('POST', '/api/deploy', { params: { service }, json: app ? { app } : {} }).then((r) => r.json()),
  logs: (app, limit = 200) => getJson('/api/logs', { app, limit }),
};

/**
 * The URL of a build's event stream. EventSource cannot send headers, so with a token the token
 * goes in the query (`&token=`); the server accepts it there for this GET only.
 */
export function buildEventsUrl(build) {
  const token = getToken();
  return url('/api/build/events', { build, token: token || undefined });
}
