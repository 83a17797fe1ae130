// Build one JavaScript module into a WASI 0.2 component with componentize-js's JS API.
//   node componentize.mjs SOURCE WIT_DIR WORLD OUT
// Called by `wasm-server js` (wasm_server/toolchain/js.py). Why not `jco componentize`: its
// command line fails here with "failed to get path metadata" while the API works.
import { componentize } from "@bytecodealliance/componentize-js";
import { writeFile, rename } from "node:fs/promises";

const [sourcePath, witPath, worldName, out] = process.argv.slice(2);
if (!out) {
  console.error("usage: node componentize.mjs SOURCE WIT_DIR WORLD OUT");
  process.exit(2);
}
try {
  const { component } = await componentize({ sourcePath, witPath, worldName });
  const tmp = `${out}.${process.pid}.tmp`;
  await writeFile(tmp, component);
  await rename(tmp, out); // a half-written component never has the real name
} catch (err) {
  // componentize-js reports a guest's syntax error as an Error whose message has file:line
  console.error(String(err && err.stack ? err.message : err));
  process.exit(1);
}
