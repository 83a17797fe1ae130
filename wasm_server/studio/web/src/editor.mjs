// The code editor: one CodeMirror view, a tab per open file (per service), dirty tracking and
// the build's diagnostics as lint markers (also on files opened after the build).
import { basicSetup } from 'codemirror';
import { Compartment, EditorState, Text } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { lintGutter, setDiagnostics } from '@codemirror/lint';
import { indentWithTab } from '@codemirror/commands';
import { darkTheme } from './theme.mjs';
import { loadLanguage } from './langsupport.mjs';
import { toLintDiagnostics } from './lintmap.mjs';
import { el } from './dom.mjs';

/** Holds each state's language; filled once the language's chunk has loaded. */
const language = new Compartment();

export class Editor {
  /**
   * @param {HTMLElement} parent where the view goes (#editor)
   * @param {HTMLElement} tabsBar where the tabs go
   * @param {{onSave: () => void, onActivate: (path: string|null) => void, onDirty: (dirty: boolean) => void}} hooks
   */
  constructor(parent, tabsBar, hooks) {
    this.tabsBar = tabsBar;
    this.hooks = hooks;
    this.tabs = new Map(); // key → {service, path, state, saved: Text}
    this.active = null;
    this.service = null;
    this.diagnostics = new Map(); // service → the last build's diagnostics
    this.view = new EditorView({ parent, state: this.emptyState() });
  }

  key(service, path) { return `${service}\u0000${path}`; }

  emptyState() {
    return EditorState.create({
      doc: 'Open a file from the tree on the left.',
      extensions: [darkTheme, EditorState.readOnly.of(true), EditorView.editable.of(false)],
    });
  }

  makeState(path, text) {
    const save = () => { this.hooks.onSave(); return true; };
    return EditorState.create({
      doc: text,
      extensions: [
        darkTheme,
        keymap.of([{ key: 'Mod-s', run: save, preventDefault: true }, indentWithTab]),
        basicSetup,
        lintGutter(),
        language.of([]),
        EditorView.updateListener.of((update) => { if (update.docChanged) this.changed(); }),
      ],
    });
  }

  /** The open file of the current service: {service, path} or null. */
  current() {
    const tab = this.active && this.tabs.get(this.active);
    return tab ? { service: tab.service, path: tab.path } : null;
  }

  /** The current text of the open file. */
  text() { return this.view.state.doc.toString(); }

  isOpen(service, path) { return this.tabs.has(this.key(service, path)); }

  isDirty(key = this.active) {
    const tab = key && this.tabs.get(key);
    if (!tab) return false;
    const doc = key === this.active ? this.view.state.doc : tab.state.doc;
    return !doc.eq(tab.saved);
  }

  /** Whether any file of `service` has unsaved changes. */
  anyDirty(service) {
    return [...this.tabs.entries()].some(([key, tab]) => tab.service === service && this.isDirty(key));
  }

  /** Show the tabs of `service` (its last open file, or nothing). */
  showService(service) {
    this.stash();
    this.service = service;
    const last = [...this.tabs.entries()].reverse().find(([, tab]) => tab.service === service);
    if (last) this.activate(last[0]);
    else {
      this.active = null;
      this.view.setState(this.emptyState());
      this.renderTabs();
      this.hooks.onActivate(null);
      this.hooks.onDirty(false);
    }
  }

  /** Open `path` of `service` with `text` (or switch to it when already open). */
  open(service, path, text) {
    const key = this.key(service, path);
    if (!this.tabs.has(key)) {
      let state = this.makeState(path, text);
      state = this.withDiagnostics(state, service, path);
      this.tabs.set(key, { service, path, state, saved: state.doc });
      loadLanguage(path).then((extension) => this.setLanguage(key, extension));
    }
    this.stash();
    this.service = service;
    this.activate(key);
  }

  setLanguage(key, extension) {
    const tab = this.tabs.get(key);
    if (!tab) return; // closed meanwhile
    const effects = language.reconfigure(extension);
    if (key === this.active) {
      this.view.dispatch({ effects });
      tab.state = this.view.state;
    } else tab.state = tab.state.update({ effects }).state;
  }

  stash() {
    const tab = this.active && this.tabs.get(this.active);
    if (tab) tab.state = this.view.state;
  }

  activate(key) {
    const tab = this.tabs.get(key);
    this.active = key;
    this.view.setState(tab.state);
    this.renderTabs();
    this.hooks.onActivate(tab.path);
    this.hooks.onDirty(this.isDirty());
  }

  close(key) {
    if (key === this.active) this.stash();
    this.tabs.delete(key);
    if (key === this.active) {
      this.active = null;
      this.showService(this.service);
    } else this.renderTabs();
  }

  /** Record that the open file was saved as `text`. */
  markSaved(text) {
    const tab = this.active && this.tabs.get(this.active);
    if (!tab) return;
    const doc = this.view.state.doc;
    tab.saved = doc.toString() === text ? doc : Text.of(text.split('\n'));
    this.changed();
  }

  changed() {
    this.hooks.onDirty(this.isDirty());
    this.renderTabs();
  }

  /** Move the cursor to a 1-based line (and column) and scroll there. */
  goTo(line, column = 1) {
    const doc = this.view.state.doc;
    const l = doc.line(Math.min(Math.max(1, line), doc.lines));
    const pos = Math.min(l.from + Math.max(0, column - 1), l.to);
    this.view.dispatch({ selection: { anchor: pos }, effects: EditorView.scrollIntoView(pos, { y: 'center' }) });
    this.view.focus();
  }

  withDiagnostics(state, service, path) {
    const diags = toLintDiagnostics(state.doc, this.diagnostics.get(service) ?? [], path);
    return state.update(setDiagnostics(state, diags)).state;
  }

  /** A build of `service` finished: its diagnostics replace the old ones on every open file. */
  setBuildDiagnostics(service, diagnostics) {
    this.diagnostics.set(service, diagnostics);
    this.stash();
    for (const [key, tab] of this.tabs) {
      if (tab.service !== service) continue;
      if (key === this.active) {
        const diags = toLintDiagnostics(this.view.state.doc, diagnostics, tab.path);
        this.view.dispatch(setDiagnostics(this.view.state, diags));
        tab.state = this.view.state;
      } else tab.state = this.withDiagnostics(tab.state, service, tab.path);
    }
  }

  renderTabs() {
    const tabs = [...this.tabs.entries()].filter(([, tab]) => tab.service === this.service);
    this.tabsBar.replaceChildren(...tabs.map(([key, tab]) => {
      const closer = el('button', { class: 'tab-close', title: 'Close', 'aria-label': `Close ${tab.path}` }, '×');
      closer.addEventListener('click', (event) => { event.stopPropagation(); this.close(key); });
      const node = el('div', { class: `tab${key === this.active ? ' active' : ''}`, title: tab.path, 'data-tab': tab.path },
        el('span', {}, tab.path.split('/').pop()),
        this.isDirty(key) ? el('span', { class: 'tab-dirty' }, '●') : null,
        closer);
      node.addEventListener('click', () => { this.stash(); this.activate(key); });
      return node;
    }));
  }
}
