// Bundles the studio's web app into ../static (index.html + assets/): src/app.mjs and the runner
// worker src/worker.mjs (a separate module worker; it imports hosts/js through src/runner.mjs).
// Everything the page loads comes from the studio itself: no CDN, no web fonts.
//
//   node build.mjs            build once (minified)
//   node build.mjs --dev      unminified, with inline source maps
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'static');
const assets = join(out, 'assets');
const dev = process.argv.includes('--dev');
const started = Date.now();

const entries = { app: join(here, 'src', 'app.mjs') };
const worker = join(here, 'src', 'worker.mjs');
if (existsSync(worker)) entries.worker = worker;
else console.warn('build.mjs: src/worker.mjs is missing: the try panel cannot run modules in this bundle');

console.log(`building the studio web app (${Object.keys(entries).join(', ')}) into ${out}`);
// build into a fresh directory, then swap it in: a failed build leaves the last good bundle
const staging = `${out}.tmp`;
await rm(staging, { recursive: true, force: true });
await mkdir(join(staging, 'assets'), { recursive: true });
await build({
  entryPoints: entries,
  outdir: join(staging, 'assets'),
  entryNames: '[name]',
  splitting: true, // the language parsers are chunks, loaded when a file needs one
  chunkNames: '[name]-[hash]', // flat: the studio serves assets/<file>
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  minify: !dev,
  sourcemap: dev ? 'inline' : false,
  legalComments: 'linked',
  logLevel: 'warning',
});
await copyFile(join(here, 'style.css'), join(staging, 'assets', 'style.css'));
const html = await readFile(join(here, 'index.html'), 'utf8');
await writeFile(join(staging, 'index.html'), html);
await rm(out, { recursive: true, force: true });
await rename(staging, out);
console.log(`built the studio web app in ${((Date.now() - started) / 1000).toFixed(1)} s`);
