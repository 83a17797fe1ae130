// The try panel: runs the built component in a Web Worker (src/tryrunner.mjs) with the mocks
// panel's KV, variables and fetch rules; HTTP requests, or a connection for websocket/tcp.
import { api } from './api.mjs';
import { $, el, showError } from './dom.mjs';
import { parseHeaders } from './headers.mjs';
import { bodyView, parseHex, preferredView } from './bodyview.mjs';
import { runErrorMessage, statusClass } from './tryresult.mjs';
import { TryRunner } from './tryrunner.mjs';

const DEFAULT_DEADLINE_MS = 5000;

export class TryPanel {
  /** @param ctx the app context (serviceId, service, buildStamp) @param mocks the MocksPanel */
  constructor(ctx, mocks) {
    this.ctx = ctx;
    this.mocks = mocks;
    this.runner = new TryRunner({ workerUrl: new URL('assets/worker.js', document.baseURI).href });
    this.modules = new Map(); // "service|component|stamp" → ArrayBuffer
    this.loadedKey = null;
    this.response = null;
    this.userPickedView = false;
    this.select = $('try-component');
    this.error = $('try-error');
    this.note = $('try-note');
    this.view = $('res-view');
    this.select.addEventListener('change', () => this.pick());
    $('run').addEventListener('click', () => this.run());
    $('req-path').addEventListener('keydown', (e) => { if (e.key === 'Enter') this.run(); });
    for (const id of ['req-headers', 'req-body']) {
      $(id).addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) this.run(); });
    }
    this.view.addEventListener('change', () => { this.userPickedView = true; this.renderBody(); });
    $('conn-open').addEventListener('click', () => this.connOpen());
    $('conn-send').addEventListener('click', () => this.connSend());
    $('conn-message').addEventListener('keydown', (e) => { if (e.key === 'Enter') this.connSend(); });
    $('conn-close').addEventListener('click', () => this.connClose());
  }

  /** The selected service changed or was rebuilt: list its components again. */
  setService(service) {
    const previous = this.select.value;
    const components = service?.components ?? [];
    this.select.replaceChildren(...components.map((c) => el('option', { value: c.name }, c.name)));
    if (!components.length) this.select.append(el('option', { value: '' }, '(no components)'));
    if (components.some((c) => c.name === previous)) this.select.value = previous;
    this.pick();
  }

  component() {
    return (this.ctx.service?.components ?? []).find((c) => c.name === this.select.value) ?? null;
  }

  pick() {
    const component = this.component();
    const kind = component?.kind ?? 'http';
    $('try-kind').textContent = component ? `${kind} · ${component.abi}` : '';
    const conn = kind === 'websocket' || kind === 'tcp';
    // a component with WebSocket and plain routes (the echo examples) can be tried both ways
    const http = !conn || (kind === 'websocket' && (component.routes ?? []).length > (component.websocket_routes ?? []).length);
    $('try-http').hidden = !http;
    $('try-response').hidden = !http;
    this.userPickedView = false;
    $('try-conn').hidden = !conn;
    $('conn-path').hidden = kind !== 'websocket';
    this.mocks.show(this.ctx.serviceId, component);
    this.loadedKey = null;
    this.clearResponse();
    let note = '';
    if (component?.abi === 'wasi-http') {
      note = 'This component is a wasi:http component (Python or JavaScript): it runs only on the server. Deploy it and try its live URL.';
    } else if (kind === 'udp') {
      note = 'UDP components cannot be tried in the browser; deploy to try them.';
    } else if (component && !component.built) {
      note = 'Not built yet: press Build first.';
    }
    this.note.textContent = note;
    this.note.hidden = !note;
    const runnable = Boolean(component) && component.abi !== 'wasi-http' && kind !== 'udp';
    for (const id of ['run', 'conn-open', 'conn-send', 'conn-close']) $(id).disabled = !runnable;
  }

  clearResponse() {
    this.clearHttpResponse();
    $('conn-transcript').replaceChildren();
  }

  /** Before a run: nothing of the previous answer stays on screen next to the new one. */
  clearHttpResponse() {
    this.response = null;
    showError(this.error, '');
    $('res-status').textContent = '';
    $('res-status').className = 'status-code';
    $('res-ms').textContent = '';
    $('res-headers').textContent = '';
    $('res-body').textContent = '';
  }

  /** The built module's bytes (fetched once per build). */
  async moduleBytes(component) {
    const key = `${this.ctx.serviceId}|${component.name}|${this.ctx.buildStamp}`;
    if (!this.modules.has(key)) {
      this.modules.clear();
      this.modules.set(key, await api.module(this.ctx.serviceId, component.name));
    }
    return this.modules.get(key);
  }

  /** Load the component into the worker unless it already runs this build with these mocks. */
  async ensureLoaded(component) {
    const mocks = this.mocks.read();
    const key = this.loadKey(component);
    if (key === this.loadedKey) return true;
    const wasm = (await this.moduleBytes(component)).slice(0); // a copy: the runner may transfer it
    const answer = await this.runner.load(wasm, {
      name: component.name, abi: component.abi, kind: component.kind, stores: component.stores ?? [], variables: component.variables ?? {},
      routes: component.routes ?? [], timeout_ms: component.timeout_ms,
    }, mocks);
    if (answer?.type !== 'loaded') {
      this.fail(answer, component);
      return false;
    }
    this.loadedKey = key;
    return true;
  }

  loadKey(component) {
    return `${this.ctx.serviceId}|${component.name}|${this.ctx.buildStamp}|${this.mocks.fingerprint()}`;
  }

  fail(answer, component) {
    this.loadedKey = null; // a trap or timeout may leave the instance unusable: load afresh next time
    showError(this.error, runErrorMessage(answer, component?.timeout_ms ?? DEFAULT_DEADLINE_MS));
    if (answer?.log || answer?.kv) this.mocks.showResult({ kv: answer.kv, log: answer.log });
  }

  async guardedRun(button, action) {
    const component = this.component();
    if (!component) return;
    button.disabled = true;
    showError(this.error, '');
    try {
      if (await this.ensureLoaded(component)) await action(component);
    } catch (err) {
      this.loadedKey = null;
      showError(this.error, err.message);
    } finally {
      button.disabled = false;
    }
  }

  run() {
    return this.guardedRun($('run'), async (component) => {
      const path = $('req-path').value.trim() || '/';
      if (!path.startsWith('/')) throw new Error('the path must start with "/" (for example /hello?name=x)');
      const request = {
        method: $('req-method').value,
        path,
        headers: parseHeaders($('req-headers').value),
        body: new TextEncoder().encode($('req-body').value),
      };
      this.clearHttpResponse();
      $('res-status').textContent = '…';
      const answer = await this.runner.http(request, component.timeout_ms ?? DEFAULT_DEADLINE_MS);
      if (answer?.type !== 'response') {
        $('res-status').textContent = '';
        this.fail(answer, component);
        return;
      }
      this.showResponse(answer);
      this.mocks.showResult(answer);
      this.loadedKey = this.loadKey(component); // the KV box now shows what the worker holds
    });
  }

  showResponse(answer) {
    this.response = answer;
    const status = $('res-status');
    status.textContent = String(answer.status);
    status.className = `status-code ${statusClass(answer.status)}`;
    $('res-ms').textContent = typeof answer.ms === 'number' ? `${answer.ms.toFixed(answer.ms < 10 ? 2 : 1)} ms` : '';
    $('res-headers').textContent = (answer.headers ?? []).map(([n, v]) => `${n}: ${v}`).join('\n') || '(no headers)';
    if (!this.userPickedView) this.view.value = preferredView(answer.headers, answer.body);
    this.renderBody();
  }

  renderBody() {
    if (!this.response) return;
    $('res-body').textContent = bodyView(this.response.body, this.view.value);
  }

  // --- connections (websocket / tcp components) ---

  transcript(kind, text) {
    const list = $('conn-transcript');
    list.append(el('li', { class: kind }, text));
    list.scrollTop = list.scrollHeight;
  }

  connOutput(answer) {
    for (const item of answer.output ?? []) {
      const data = item.binary ? `[hex] ${[...item.data].map((b) => b.toString(16).padStart(2, '0')).join(' ')}` : String(item.data);
      this.transcript('received', `← ${data}`);
    }
    if (answer.closed) this.transcript('event', '— the guest closed the connection');
    if (answer.log || answer.kv) this.mocks.showResult({ kv: answer.kv, log: answer.log });
  }

  connOpen() {
    return this.guardedRun($('conn-open'), async (component) => {
      $('conn-transcript').replaceChildren();
      const path = component.kind === 'websocket' ? ($('conn-path').value.trim() || '/') : undefined;
      this.transcript('event', `— open ${component.kind}${path ? ` ${path}` : ''}`);
      const answer = await this.runner.open(component.kind, path);
      if (answer?.type !== 'opened') return this.fail(answer, component);
      this.connOutput(answer);
      return undefined;
    });
  }

  connSend() {
    return this.guardedRun($('conn-send'), async (component) => {
      const raw = $('conn-message').value;
      const binary = $('conn-binary').checked;
      const data = binary ? parseHex(raw) : raw;
      this.transcript('sent', `→ ${binary ? `[hex] ${raw}` : raw}`);
      const answer = await this.runner.send(data, binary);
      if (answer?.type !== 'output') return this.fail(answer, component);
      $('conn-message').value = '';
      this.connOutput(answer);
      return undefined;
    });
  }

  connClose() {
    return this.guardedRun($('conn-close'), async (component) => {
      const answer = await this.runner.close();
      if (answer?.type !== 'output') return this.fail(answer, component);
      this.transcript('event', '— closed');
      this.connOutput({ ...answer, closed: false });
      return undefined;
    });
  }
}
