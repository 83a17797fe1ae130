// Sorted file paths → the rows of a tree (directories before their files), without the DOM.

/**
 * [{path, size}] → [{dir: bool, path, name, depth, size?}]: each directory once, before its
 * contents; at each level directories first, then files, each alphabetically.
 */
export function treeRows(files) {
  const root = { dirs: new Map(), files: [] };
  for (const file of files ?? []) {
    const parts = String(file.path).split('/').filter(Boolean);
    let node = root;
    for (const part of parts.slice(0, -1)) {
      if (!node.dirs.has(part)) node.dirs.set(part, { dirs: new Map(), files: [] });
      node = node.dirs.get(part);
    }
    node.files.push({ name: parts[parts.length - 1], path: parts.join('/'), size: file.size });
  }
  const rows = [];
  const walk = (node, prefix, depth) => {
    for (const name of [...node.dirs.keys()].sort()) {
      const path = prefix ? `${prefix}/${name}` : name;
      rows.push({ dir: true, path, name, depth });
      walk(node.dirs.get(name), path, depth + 1);
    }
    for (const file of [...node.files].sort((a, b) => a.name.localeCompare(b.name))) {
      rows.push({ dir: false, path: file.path, name: file.name, depth, size: file.size });
    }
  };
  walk(root, '', 0);
  return rows;
}
