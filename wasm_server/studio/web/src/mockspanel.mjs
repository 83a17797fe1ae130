// The mocks panel: KV, variables and fetch rules as JSON in; KV after the run, outbound calls
// and the guest's log out. The KV box continues from what the last run left.
import { $, el, showError } from './dom.mjs';
import { EXAMPLE_FETCH, defaultKv, defaultVariables, kvChanges, parseFetchRules, parseKv, parseVariables, pretty } from './mocks.mjs';

export class MocksPanel {
  constructor() {
    this.kv = $('mock-kv');
    this.vars = $('mock-vars');
    this.fetch = $('mock-fetch');
    this.error = $('mock-error');
    this.kvAfter = $('kv-after');
    this.kvChanged = $('kv-changes');
    this.kvBefore = null; // the KV the worker held before the last call
    this.calls = $('fetch-calls');
    this.log = $('guest-log');
    this.saved = new Map(); // "service/component" → {kv, vars, fetch} texts, kept across switches
    this.key = null;
    this.component = null;
    $('mock-reset').addEventListener('click', () => this.fill(this.component, true));
  }

  /** Show the mocks of `component` of `service` (the defaults the first time). */
  show(service, component) {
    if (this.key) this.saved.set(this.key, this.texts());
    this.component = component;
    this.key = component ? `${service}/${component.name}` : null;
    this.fill(component, false);
    this.clearOutput();
  }

  fill(component, reset) {
    const saved = !reset && this.key && this.saved.get(this.key);
    this.kv.value = saved ? saved.kv : pretty(defaultKv(component));
    this.vars.value = saved ? saved.vars : pretty(defaultVariables(component));
    this.fetch.value = saved ? saved.fetch : pretty(EXAMPLE_FETCH);
    showError(this.error, '');
  }

  texts() {
    return { kv: this.kv.value, vars: this.vars.value, fetch: this.fetch.value };
  }

  /** A string that changes whenever the mocks do (the runner reloads then). */
  fingerprint() {
    return JSON.stringify(this.texts());
  }

  /** The mocks for the runner; shows and throws the error when a box is not valid. */
  read() {
    try {
      const mocks = { kv: parseKv(this.kv.value), variables: parseVariables(this.vars.value), fetch: parseFetchRules(this.fetch.value) };
      showError(this.error, '');
      this.kvBefore = mocks.kv;
      return mocks;
    } catch (err) {
      showError(this.error, err.message);
      throw err;
    }
  }

  clearOutput() {
    this.kvAfter.textContent = '';
    this.kvChanged.replaceChildren();
    this.log.textContent = '';
    this.calls.replaceChildren();
  }

  /** Show what a run left: KV after it (also the next run's starting KV), calls, log. */
  showResult({ kv, log, fetches }) {
    if (kv) {
      this.kvAfter.textContent = pretty(kv);
      this.kv.value = pretty(kv);
      const changes = kvChanges(this.kvBefore, kv);
      this.kvChanged.replaceChildren(...(changes.length ? changes.map((c) => (c.op === 'deleted'
        ? el('li', { class: 'removed' }, `− ${c.label} / ${c.key}`)
        : el('li', { class: 'added' }, `+ ${c.label} / ${c.key} = ${JSON.stringify(c.value)}`)))
        : [el('li', { class: 'muted' }, '(the run changed nothing)')]));
      this.kvBefore = kv;
    }
    if (log) this.log.textContent = log.length ? log.map((l) => `[${l.level}] ${l.message}`).join('\n') : '(no log output)';
    if (fetches) {
      this.calls.replaceChildren(...(fetches.length ? fetches.map((f) => el('li', { class: f.matched ? 'matched' : 'denied' },
        `${f.matched ? '✓' : '✗ denied'} ${f.method} ${f.url}`)) : [el('li', { class: 'muted' }, '(none)')]));
    }
  }
}
