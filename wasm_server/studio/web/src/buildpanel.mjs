// The build panel: Build → POST /api/build, then the build's SSE stream: live log, status,
// and the diagnostics as a clickable list (and, through the editor, lint markers).
import { api, buildEventsUrl } from './api.mjs';
import { $, el, toast } from './dom.mjs';
import { BUILD_EVENTS, applyBuildEvent, initialBuildState, parseEventData, statusText } from './buildstate.mjs';
import { diagnosticLocation, normalizeFile } from './lintmap.mjs';

/** Reconnects to a build's stream after a dropped connection (the server replays every event). */
const MAX_RECONNECTS = 3;

export class BuildPanel {
  /** @param ctx the app context: serviceId, save(), editor, openFile(), emit() */
  constructor(ctx) {
    this.ctx = ctx;
    this.button = $('build');
    this.status = $('build-status');
    this.detail = $('build-detail');
    this.log = $('build-log');
    this.list = $('diagnostics');
    this.count = $('diag-count');
    this.source = null;
    this.state = initialBuildState();
    this.waiters = []; // run()'s callers, told the final state
    this.button.addEventListener('click', () => this.start());
    this.render();
  }

  /** Build and wait for the end; resolves with the final state (Deploy builds first when needed). */
  async run() {
    const done = new Promise((resolve) => { this.waiters.push(resolve); });
    await this.start();
    if (this.state.status === 'failed' && !this.state.done) this.settle(this.state); // refused before it ran
    return done;
  }

  settle(state) {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve(state);
  }

  /** Another service was selected: forget the build shown. */
  reset() {
    this.stop();
    this.button.disabled = false; // a build of the other service may still run; this one may build too
    this.state = initialBuildState();
    this.render();
  }

  stop() {
    if (this.source) this.source.close();
    this.source = null;
  }

  async start() {
    const service = this.ctx.serviceId;
    if (service === null) return;
    this.button.disabled = true;
    try {
      await this.ctx.saveAll(); // a build compiles what is on disk: save the open files first
      const { build, position } = await api.build(service);
      this.stop();
      this.state = applyBuildEvent(initialBuildState(), 'queued', { position });
      this.render();
      this.follow(service, build, 0);
    } catch (err) {
      this.button.disabled = false;
      this.state = { ...initialBuildState(), status: 'failed', error: err.message };
      this.render();
      toast(`Build: ${err.message}`, 'error');
    }
  }

  follow(service, build, attempt) {
    const source = new EventSource(buildEventsUrl(build));
    this.source = source;
    // every (re)connection replays the build from its first event: start from a clean state
    let state = initialBuildState();
    for (const type of BUILD_EVENTS) {
      source.addEventListener(type, (event) => {
        if (this.source !== source) return;
        state = applyBuildEvent(state, type, parseEventData(event.data));
        this.state = state;
        if (type === 'log') this.appendLog(state);
        else this.render();
        if (type === 'done') {
          this.stop();
          this.button.disabled = false;
          this.ctx.buildDone(service, state);
          this.settle(state);
        }
      });
    }
    source.onerror = () => {
      if (this.source !== source || state.done) return;
      source.close();
      if (attempt < MAX_RECONNECTS) {
        setTimeout(() => { if (this.source === source) this.follow(service, build, attempt + 1); }, 500 * (attempt + 1));
        return;
      }
      this.source = null;
      this.button.disabled = false;
      this.state = { ...state, status: 'failed', error: 'lost the connection to the build\'s event stream' };
      this.render();
      this.settle(this.state);
    };
  }

  appendLog(state) {
    const atBottom = this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - 4;
    this.log.textContent = (state.dropped ? `… ${state.dropped} earlier lines not shown\n` : '') + state.log.join('\n');
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
    this.renderStatus();
  }

  renderStatus() {
    const { status } = this.state;
    this.status.textContent = status;
    this.status.dataset.status = status;
    const text = statusText(this.state);
    this.detail.textContent = text === status ? '' : text.slice(status.length).replace(/^[:\s]+/, '');
    if (status === 'succeeded' && this.state.components.length) {
      this.detail.textContent += ` · ${this.state.components.map((c) => `${c.name} ${c.built ? formatBytes(c.size) : 'not built'}`).join(', ')}`;
    }
  }

  render() {
    this.renderStatus();
    this.appendLog(this.state);
    const diags = this.state.diagnostics;
    this.count.textContent = String(diags.length);
    if (!diags.length) {
      const text = this.state.done ? 'No problems.' : 'Problems from the last build appear here.';
      this.list.replaceChildren(el('li', { class: 'empty' }, text));
      return;
    }
    this.list.replaceChildren(...diags.map((d) => {
      const file = normalizeFile(d.file);
      const item = el('li', { 'data-file': file, 'data-line': d.line, 'data-column': d.column ?? '', class: `sev-${d.severity}` },
        el('span', { class: 'loc' }, diagnosticLocation(d)), d.message);
      item.addEventListener('click', () => this.ctx.openFile(file, d.line, d.column));
      return item;
    }));
  }
}

function formatBytes(n) {
  if (typeof n !== 'number') return '';
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(2)} MiB`;
}
