// The studio's single-page app: wires the panels to one context (the selected service, its
// files and components) and the studio API.
import { ApiError, api, setUnauthorizedHandler } from './api.mjs';
import { $, el, showError, toast } from './dom.mjs';
import { Editor } from './editor.mjs';
import { markActive, renderFileTree } from './filetree.mjs';
import { BuildPanel } from './buildpanel.mjs';
import { MocksPanel } from './mockspanel.mjs';
import { TryPanel } from './trypanel.mjs';
import { DeployPanel } from './deploypanel.mjs';
import { initShare } from './share.mjs';
import { initServices, setLanguages, setServices, languageName } from './services.mjs';
import { askToken } from './token.mjs';
import { LANGUAGE_LABELS, languageOf } from './languages.mjs';
import { mainFile, problemsByFile } from './studiofiles.mjs';

const ctx = {
  info: null,
  serviceId: null,
  service: null, // GET /api/service
  files: [],
  problems: new Map(), // path → 'error' | 'warning' (last build of the selected service)
  buildStamp: 0, // bumped by every finished build: the try panel fetches the module again
};

const editor = new Editor($('editor'), $('tabs'), {
  onSave: () => save(),
  onActivate: (path) => {
    markActive($('file-tree'), path);
    $('current-lang').textContent = path ? (LANGUAGE_LABELS[languageOf(path)] ?? 'text') : '';
  },
  onDirty: (dirty) => { $('dirty').hidden = !dirty; },
});
ctx.editor = editor;

const mocks = new MocksPanel();
const build = new BuildPanel(ctx);
ctx.build = () => build.run();
const tryPanel = new TryPanel(ctx, mocks);
const deploy = new DeployPanel(ctx);

/** Save the open file; errors are shown. */
async function save() {
  const current = editor.current();
  if (!current) return;
  const text = editor.text();
  try {
    await api.writeFile(current.service, current.path, text);
    editor.markSaved(text);
    if (current.path === 'wasm-server.toml') await refreshService();
  } catch (err) {
    toast(`Saving ${current.path}: ${err.message}`, 'error');
  }
}

/** Save every unsaved file of the selected service (before a build, deploy or export). */
ctx.saveAll = async () => {
  const service = ctx.serviceId;
  for (const [key, tab] of editor.tabs) {
    if (tab.service !== service || !editor.isDirty(key)) continue;
    const text = key === editor.active ? editor.text() : tab.state.doc.toString();
    await api.writeFile(service, tab.path, text);
    if (key === editor.active) editor.markSaved(text);
    else { tab.saved = tab.state.doc; editor.renderTabs(); }
  }
};

/** Open `path` of the selected service (at a line, when given). */
ctx.openFile = async (path, line, column) => {
  const service = ctx.serviceId;
  try {
    if (!editor.isOpen(service, path)) {
      const text = await api.readFile(service, path);
      if (ctx.serviceId !== service) return;
      editor.open(service, path, text);
    } else editor.open(service, path, '');
    if (line) editor.goTo(Number(line), Number(column) || 1);
  } catch (err) {
    toast(`Opening ${path}: ${err.message}`, 'error');
  }
};

function renderTree() {
  renderFileTree($('file-tree'), ctx.files, editor.current()?.path ?? null, ctx.problems, (path) => ctx.openFile(path));
}

/** Reload the selected service's description and file list. */
async function refreshService() {
  const id = ctx.serviceId;
  const [service, { files }] = await Promise.all([api.service(id), api.files(id)]);
  if (ctx.serviceId !== id) return;
  ctx.service = service;
  ctx.files = files;
  $('service-lang').textContent = languageName(service.language ?? '?');
  $('service-lang').hidden = !service.language;
  showError($('manifest-error'), service.manifest_error ? `wasm-server.toml: ${service.manifest_error}` : '');
  renderTree();
  tryPanel.setService(service);
}

ctx.selectService = async (id) => {
  if (!id) return;
  ctx.serviceId = id;
  ctx.service = null;
  ctx.problems = new Map();
  history.replaceState(null, '', `#service=${encodeURIComponent(id)}`);
  editor.showService(id);
  build.reset();
  try {
    await refreshService();
    deploy.setService(ctx.service);
    if (!editor.current()) {
      const main = mainFile(ctx.files.map((f) => f.path));
      if (main) await ctx.openFile(main);
    }
  } catch (err) {
    toast(`Service ${id}: ${err.message}`, 'error');
  }
};

ctx.reloadServices = async (select) => {
  const { services } = await api.services();
  const wanted = select ?? ctx.serviceId ?? new URLSearchParams(location.hash.slice(1)).get('service');
  const id = services.some((s) => s.id === wanted) ? wanted : services[0]?.id ?? null;
  setServices(services, id);
  if (id === null) {
    const hint = 'No services in this workspace yet: create one with "New service" or import a .zip.';
    $('file-tree').replaceChildren(el('li', { class: 'dir' }, hint));
    $('file-tree').firstChild.style.whiteSpace = 'normal';
    return;
  }
  if (id !== ctx.serviceId || select) await ctx.selectService(id);
};

ctx.buildDone = async (service, state) => {
  editor.setBuildDiagnostics(service, state.diagnostics);
  if (service !== ctx.serviceId) return;
  ctx.buildStamp += 1;
  ctx.problems = problemsByFile(state.diagnostics);
  try {
    await refreshService();
  } catch (err) {
    toast(err.message, 'error');
  }
};

function initNewFile() {
  const dialog = $('file-dialog');
  $('new-file').addEventListener('click', () => {
    if (ctx.serviceId === null) return;
    showError($('file-error'), '');
    dialog.showModal();
  });
  $('file-form').addEventListener('submit', async (event) => {
    if (event.submitter?.value === 'cancel') return;
    event.preventDefault();
    const path = $('file-name').value.trim().replace(/^\/+/, '');
    if (!path) return;
    try {
      await api.writeFile(ctx.serviceId, path, '');
      dialog.close();
      $('file-name').value = '';
      await refreshService();
      await ctx.openFile(path);
    } catch (err) {
      showError($('file-error'), err.message);
    }
  });
}

function initSideNav() {
  for (const link of document.querySelectorAll('[data-jump]')) {
    link.addEventListener('click', (event) => {
      event.preventDefault();
      $(link.dataset.jump).scrollIntoView({ block: 'start' });
    });
  }
}

$('save').addEventListener('click', () => save());
document.addEventListener('keydown', (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
    if (event.defaultPrevented) return; // the editor's own Mod-s binding saved already
    event.preventDefault(); // the browser's "save page" is never what is meant here
    save();
  }
});
window.addEventListener('beforeunload', (event) => {
  if ([...editor.tabs.keys()].some((key) => editor.isDirty(key))) event.preventDefault();
});

/** /api/info, asking for the token as long as the studio answers 401. */
async function loadInfo() {
  for (;;) {
    try {
      return await api.info();
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      await askToken(err.message && err.message !== 'Unauthorized' ? err.message : '');
    }
  }
}

async function boot() {
  // a 401 later on (the studio restarted with another token): ask again; the failed action's error shows too
  setUnauthorizedHandler((err) => { askToken(err.message); });
  initServices(ctx);
  initShare(ctx);
  initNewFile();
  initSideNav();
  try {
    ctx.info = await loadInfo();
    setLanguages(ctx.info.languages ?? []);
    $('server-info').textContent = `${ctx.info.workspace ?? ''} · v${ctx.info.version ?? '?'}`;
    $('deploy-target').textContent = ctx.info.server_url ? `to ${ctx.info.server_url}` : '';
    await ctx.reloadServices();
  } catch (err) {
    toast(`The studio could not start: ${err.message}`, 'error');
  }
}

boot();
