// The file tree of the selected service: directories as headers, files as items [data-path].
import { el } from './dom.mjs';
import { treeRows } from './treerows.mjs';

/**
 * Render `files` ([{path, size}]) into `root` (#file-tree). `problems` maps a path to 'error' |
 * 'warning' (from the last build); `onOpen(path)` is called when a file is clicked.
 */
export function renderFileTree(root, files, activePath, problems, onOpen) {
  const rows = treeRows(files);
  root.replaceChildren(...rows.map((row) => {
    const pad = { style: `padding-left: ${12 + row.depth * 14}px` };
    if (row.dir) return el('li', { class: 'dir', 'data-dir': row.path, ...pad }, `▾ ${row.name}`);
    const problem = problems.get(row.path);
    const item = el('li', {
      'data-path': row.path,
      class: [row.path === activePath ? 'active' : '', problem ? `has-${problem}` : ''].join(' ').trim() || null,
      title: row.path,
      ...pad,
    }, el('span', {}, row.name), el('span', { class: 'size' }, formatSize(row.size)));
    item.addEventListener('click', () => onOpen(row.path));
    return item;
  }));
  if (!rows.length) root.replaceChildren(el('li', { class: 'dir' }, '(no files)'));
}

/** Mark `path` as the open file. */
export function markActive(root, path) {
  for (const item of root.querySelectorAll('li[data-path]')) item.classList.toggle('active', item.dataset.path === path);
}

function formatSize(size) {
  if (size === undefined || size === null) return '';
  if (size < 1024) return `${size} B`;
  return `${(size / 1024).toFixed(size < 10240 ? 1 : 0)} KiB`;
}
