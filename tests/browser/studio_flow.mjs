// One user's path through the studio, in a real browser (Debian's chromium driven by
// playwright-core): new service from the template → edit the greeting → build (log, no
// diagnostics) → break it (a marker on the right line) → fix → try it in the browser with a
// mocked KV value → (C only) a trap and a runaway loop are reported → deploy → the live URL
// serves the new greeting. tests/studio/test_browser.py starts the servers and runs this once
// per language; it prints one JSON line of step timings at the end.
//
//   STUDIO_URL=http://127.0.0.1:8090 SERVER_URL=http://127.0.0.1:8080 LANGUAGE=c \
//   [SCREENSHOTS=dir] [CHROMIUM=/usr/bin/chromium] node tests/browser/studio_flow.mjs

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const STUDIO = process.env.STUDIO_URL;
const LANGUAGE = process.env.LANGUAGE;
const SHOTS = process.env.SCREENSHOTS || '';
const NAME = process.env.SERVICE_NAME || `hello-${LANGUAGE}`;
const BUILD_MS = Number(process.env.BUILD_TIMEOUT_MS || 600_000);

/** The file each template's greeting is in, and a top-level line that does not compile there. */
const SOURCES = {
  c: { file: 'main.c', broken: 'int broken = undefined_name;' },
  cpp: { file: 'main.cpp', broken: 'int broken = undefined_name;' },
  rust: { file: 'src/lib.rs', broken: 'const BROKEN: i32 = undefined_name;' },
  go: { file: 'main.go', broken: 'var broken = undefinedName' },
  ts: { file: 'assembly/index.ts', broken: 'export const broken: i32 = undefinedName;' },
};

const started = Date.now();
const timings = {};
let last = started;
function step(name) {
  const now = Date.now();
  timings[name] = now - last;
  last = now;
  console.error(`[${LANGUAGE}] ${name}: ${timings[name]} ms`);
}

async function shot(page, selector, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  const target = selector ? page.locator(selector) : page;
  await target.screenshot({ path: join(SHOTS, `${name}.png`) });
}

async function api(path, init = {}) {
  const r = await fetch(`${STUDIO}${path}`, init);
  assert.ok(r.ok, `${path}: ${r.status} ${await r.clone().text()}`);
  return r;
}

/** Replace the whole text of the open editor (CodeMirror) with `text`, as typing would. */
async function setEditorText(page, text) {
  await page.locator('#editor .cm-content').click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.insertText(text);
}

async function openFile(page, file) {
  await page.locator(`#file-tree [data-path="${file}"]`).click();
  await page.locator(`#file-tree [data-path="${file}"].active`).waitFor();
}

async function save(page) {
  await page.locator('#save').click();
  await page.locator('#dirty').waitFor({ state: 'hidden' });
}

/** Click Build and wait for its end; returns the final status text. */
async function build(page) {
  await page.locator('#build').click();
  await page.waitForFunction(() => ['queued', 'building'].includes(document.querySelector('#build-status').textContent.trim()),
    null, { timeout: 30_000 }).catch(() => {});
  await page.waitForFunction(() => ['succeeded', 'failed'].includes(document.querySelector('#build-status').textContent.trim()),
    null, { timeout: BUILD_MS });
  return (await page.locator('#build-status').textContent()).trim();
}

/** Click Deploy and wait for "deployed … (version N)"; returns the live URL. */
async function deploy(page, version) {
  await page.locator('#deploy').click();
  await page.waitForFunction((v) => {
    const text = document.querySelector('#deploy-status').textContent;
    return text.includes(`(version ${v})`) || text.includes('failed');
  }, version, { timeout: BUILD_MS });
  const status = await page.locator('#deploy-status').textContent();
  assert.match(status, new RegExp(`\\(version ${version}\\)`), `deploy: ${status}`);
  const url = await page.locator('a#deploy-url[href]').getAttribute('href');
  assert.ok(url && url.startsWith('http'), `no live URL: ${url}`);
  return url;
}

async function expectLive(url, pattern) {
  const live = await fetch(url);
  const body = await live.text();
  assert.equal(live.status, 200, `the live URL ${url} answered ${live.status}: ${body}`);
  assert.match(body, pattern, `the live URL does not serve the expected greeting: ${body}`);
}

async function tryRequest(page, path) {
  await page.locator('#req-method').selectOption('GET');
  await page.locator('#req-path').fill(path);
  await page.locator('#run').click();
  // the status shows "…" while the module loads and runs: wait for a status code or an error
  await page.waitForFunction(() => /^\d{3}$/.test(document.querySelector('#res-status').textContent.trim())
    || (document.querySelector('#try-error').textContent.trim() !== ''), null, { timeout: 60_000 });
}

async function main() {
  const src = SOURCES[LANGUAGE];
  assert.ok(src, `no flow for language ${LANGUAGE}`);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  // what the page saw go wrong, printed when a step fails (the page's own messages say why)
  const seen = [];
  page.on('console', (msg) => { if (msg.type() === 'error' || msg.type() === 'warning') seen.push(`console ${msg.type()}: ${msg.text()}`); });
  page.on('response', async (r) => {
    if (r.status() >= 400) seen.push(`${r.request().method()} ${r.url()} → ${r.status()} ${await r.text().catch(() => '')}`);
  });
  try {
    await page.goto(STUDIO);
    await page.locator('#new-service').click();
    await page.locator('#new-language').selectOption(LANGUAGE);
    await page.locator('#new-name').fill(NAME);
    await page.locator('#new-create').click();
    await page.locator(`#file-tree [data-path="${src.file}"]`).waitFor();
    step('new service');

    const original = await (await api(`/api/file?service=${NAME}&path=${encodeURIComponent(src.file)}`)).text();
    assert.match(original, /Hello from/, `${src.file} of the template has no greeting`);
    const edited = original.replace('Hello from', 'Howdy from');
    await openFile(page, src.file);
    await setEditorText(page, edited);
    await page.locator('#dirty').waitFor();
    await save(page);
    const onDisk = await (await api(`/api/file?service=${NAME}&path=${encodeURIComponent(src.file)}`)).text();
    assert.equal(onDisk, edited, 'Save did not write what the editor holds');
    step('edit and save');

    assert.equal(await build(page), 'succeeded', `the first build failed:\n${await page.locator('#build-log').textContent()}`);
    assert.ok((await page.locator('#build-log').textContent()).trim().length > 0, 'the build log stayed empty');
    assert.equal(await page.locator('#diagnostics li[data-file]').count(), 0, 'a clean build left diagnostics');
    await shot(page, '#panel-build', `build-${LANGUAGE}`);
    step('build');

    const brokenLine = edited.replace(/\n$/, '').split('\n').length + 1;
    await setEditorText(page, `${edited.replace(/\n$/, '')}\n${src.broken}\n`);
    await save(page);
    assert.equal(await build(page), 'failed', 'a build of broken code succeeded');
    const marker = page.locator(`#diagnostics li[data-file="${src.file}"][data-line="${brokenLine}"]`);
    await marker.first().waitFor({ timeout: 10_000 }).catch(async () => {
      const listed = await page.locator('#diagnostics li[data-file]').evaluateAll((els) => els.map((e) => `${e.dataset.file}:${e.dataset.line} ${e.textContent}`));
      throw new Error(`no diagnostic on ${src.file}:${brokenLine}; the list has ${JSON.stringify(listed)}`);
    });
    await page.locator('#editor .cm-lintRange-error, #editor .cm-lint-marker-error').first().waitFor({ timeout: 10_000 });
    if (LANGUAGE === 'c') await shot(page, null, 'studio'); // the whole page, a marker on the broken line
    await shot(page, '#panel-build', `diagnostics-${LANGUAGE}`);
    step('broken build shows the marker');

    await setEditorText(page, edited);
    await save(page);
    assert.equal(await build(page), 'succeeded', 'the build after the fix failed');
    assert.equal(await page.locator('#editor .cm-lintRange-error').count(), 0, 'the marker outlived the fix');
    step('fixed build');

    await page.locator('#mock-kv').fill(JSON.stringify({ default: { visits: '41' } }));
    await tryRequest(page, '/from/the/browser');
    assert.equal((await page.locator('#try-error').textContent()).trim(), '', 'the try run failed');
    assert.equal((await page.locator('#res-status').textContent()).trim(), '200');
    const body = await page.locator('#res-body').textContent();
    assert.match(body, /Howdy from/, `the response has no new greeting: ${body}`);
    assert.match(body, /visit 42/, `the response did not use the mocked KV value 41: ${body}`);
    assert.match(await page.locator('#kv-after').inputValue().catch(() => page.locator('#kv-after').textContent()), /42/,
      'the KV after the run does not show the increment');
    await shot(page, '#panel-try', `try-${LANGUAGE}`);
    await shot(page, '#panel-mocks', `mocks-${LANGUAGE}`);
    step('try in the browser');

    await page.locator('#deploy-app').fill(NAME);
    const url = await deploy(page, 1);
    await expectLive(url, /Howdy from/);
    await shot(page, '#panel-deploy', `deploy-${LANGUAGE}`);
    step('deploy');

    // edit and click Deploy alone: it builds first, and the new version replaces the old
    await setEditorText(page, edited.replace('Howdy from', 'Greetings from'));
    await save(page);
    assert.equal(await deploy(page, 2), url, 'the redeploy moved the live URL');
    await expectLive(url, /Greetings from/);
    step('edit and redeploy with one click');

    if (LANGUAGE === 'c') await trapAndLoop(page, edited);
    assert.deepEqual(problems, [], 'the page raised errors');
    console.log(JSON.stringify({ language: LANGUAGE, total_ms: Date.now() - started, timings, url }));
  } catch (err) {
    await shot(page, null, `failure-${LANGUAGE}`).catch(() => {});
    const toasts = await page.locator('#toasts').textContent().catch(() => '');
    console.error(`what the page saw:\n${seen.slice(-20).join('\n')}\ntoasts: ${toasts}`);
    throw err;
  } finally {
    await browser.close();
  }
}

/** A guest that traps, then one that never returns: both are reported and the page stays usable. */
async function trapAndLoop(page, edited) {
  const trapping = edited.replace('static ws_response *handle(const ws_request *req) {',
    'static ws_response *handle(const ws_request *req) {\n    if (req->path_info.len == 5) __builtin_trap();\n'
    + '    if (req->path_info.len == 4) for (volatile int spin = 1; spin;) {}');
  assert.notEqual(trapping, edited, 'the C template changed: the trap hook does not apply');
  await setEditorText(page, trapping);
  await save(page);
  assert.equal(await build(page), 'succeeded', 'the trapping guest did not build');
  await tryRequest(page, '/trap');
  assert.match(await page.locator('#try-error').textContent(), /trap|unreachable/i, 'a trap was not reported');
  await tryRequest(page, '/ok');
  await page.locator('#req-path').fill('/spn');
  await page.locator('#run').click();
  await page.waitForFunction(() => /stopped|longer|timeout/i.test(document.querySelector('#try-error').textContent),
    null, { timeout: 60_000 });
  await shot(page, '#panel-try', 'try-timeout');
  await tryRequest(page, '/after/the/loop');
  assert.equal((await page.locator('#res-status').textContent()).trim(), '200', 'the runner did not recover after a runaway guest');
  step('trap and runaway loop');
}

main().catch((err) => {
  console.error(err.stack || String(err));
  process.exit(1);
});
