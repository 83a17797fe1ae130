// Small DOM helpers shared by the panels.

/** The element with id `id` (throws when the page lacks it: a wiring bug, not a user error). */
export function $(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node;
}

/** A new element: attributes (class, data-*, …; `false`/`null` skipped) and children (strings, nodes, null). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Show `message` in `node` (an error line); an empty message hides it. */
export function showError(node, message) {
  node.textContent = message ?? '';
  node.hidden = !message;
}

/** Show a short notice at the bottom of the page (errors stay until dismissed). */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const item = el('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  const close = el('button', { class: 'toast-close', 'aria-label': 'Dismiss' }, '×');
  close.addEventListener('click', () => item.remove());
  item.append(close);
  box.append(item);
  if (kind !== 'error') setTimeout(() => item.remove(), 4000);
}

/** Run an async UI action; an error is shown (never swallowed) via `report`, and the button is disabled meanwhile. */
export async function guarded(button, action, report = (err) => toast(err.message, 'error')) {
  if (button) button.disabled = true;
  try {
    return await action();
  } catch (err) {
    report(err);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}
