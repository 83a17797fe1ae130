// The token dialog: shown when the studio answers 401; the token is kept in sessionStorage.
import { getToken, setToken } from './api.mjs';
import { $, showError } from './dom.mjs';

let pending = null;

/** Ask for the token (once at a time); resolves when the user gave one. */
export function askToken(message) {
  const dialog = $('token-dialog');
  showError($('token-error'), message ?? '');
  if (pending) return pending;
  pending = new Promise((resolve) => {
    const input = $('token-input');
    input.value = getToken();
    const form = $('token-form');
    const submit = (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) { showError($('token-error'), 'Enter the token.'); return; }
      setToken(token);
      form.removeEventListener('submit', submit);
      dialog.close();
      pending = null;
      resolve(token);
    };
    form.addEventListener('submit', submit);
    dialog.addEventListener('cancel', (event) => event.preventDefault()); // no way around it: the API needs it
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
  return pending;
}
