// The service picker and the "new service" dialog.
import { api } from './api.mjs';
import { $, el, showError } from './dom.mjs';

const LANGUAGE_NAMES = {
  c: 'C', cpp: 'C++', rust: 'Rust', go: 'Go', ts: 'TypeScript (AssemblyScript)', python: 'Python', js: 'JavaScript',
};

/** A readable name for a template language id. */
export function languageName(id) {
  return LANGUAGE_NAMES[id] ?? id;
}

export function initServices(ctx) {
  const select = $('service-select');
  select.addEventListener('change', () => ctx.selectService(select.value));

  const dialog = $('new-dialog');
  const error = $('new-error');
  $('new-service').addEventListener('click', () => {
    showError(error, '');
    dialog.showModal();
    $('new-name').focus();
  });
  $('new-form').addEventListener('submit', async (event) => {
    if (event.submitter?.value === 'cancel') return; // let the dialog close
    event.preventDefault();
    const language = $('new-language').value;
    const name = $('new-name').value.trim();
    if (!name) { showError(error, 'Give the service a name.'); return; }
    const button = $('new-create');
    button.disabled = true;
    try {
      const { service } = await api.createService(language, name);
      dialog.close();
      $('new-name').value = '';
      await ctx.reloadServices(service.id);
    } catch (err) {
      showError(error, err.message);
    } finally {
      button.disabled = false;
    }
  });
}

/** Fill the language list of the new-service dialog from /api/info. */
export function setLanguages(languages) {
  $('new-language').replaceChildren(...languages.map((id) => el('option', { value: id }, languageName(id))));
}

/** Fill the picker; `selected` is kept when it still exists. */
export function setServices(services, selected) {
  const select = $('service-select');
  select.replaceChildren(...services.map((s) => el('option', { value: s.id }, s.id === '.' ? `${s.name} (workspace)` : s.name)));
  if (!services.length) select.append(el('option', { value: '' }, '(no services yet)'));
  select.value = selected ?? '';
}
