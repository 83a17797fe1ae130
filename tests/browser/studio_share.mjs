// Share and connections in a real browser: import a .zip of the repository's echo example
// (C, with plain routes and a WebSocket route) through the file input, build it, POST to its
// echo route and talk to its WebSocket in the browser, then export it again as a .zip.
// tests/studio/test_browser.py makes the zip, starts the studio and reads the export.
//
//   STUDIO_URL=… ZIP=/tmp/echo-c.zip DOWNLOADS=/tmp/dl [CHROMIUM=/usr/bin/chromium] node tests/browser/studio_share.mjs

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { chromium } from 'playwright-core';

const STUDIO = process.env.STUDIO_URL;
const ZIP = process.env.ZIP;
const DOWNLOADS = process.env.DOWNLOADS;
const NAME = basename(ZIP, '.zip');

async function main() {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  try {
    await page.goto(STUDIO);
    await page.locator('#import-file').setInputFiles(ZIP);
    // the import selects the new service (the workspace may hold others with a main.c)
    await page.waitForFunction((name) => document.querySelector('#service-select').value === name, NAME,
      { timeout: 30_000 });
    await page.locator('#file-tree [data-path="main.c"]').waitFor();
    await page.waitForFunction(() => document.querySelector('#try-component').value === 'echo-c', null,
      { timeout: 30_000 });

    await page.locator('#build').click();
    await page.waitForFunction(() => ['succeeded', 'failed'].includes(document.querySelector('#build-status').textContent.trim()),
      null, { timeout: 300_000 });
    assert.equal((await page.locator('#build-status').textContent()).trim(), 'succeeded',
      await page.locator('#build-log').textContent());

    // plain HTTP on a component that also has a WebSocket route
    await page.locator('#req-method').selectOption('POST');
    await page.locator('#req-path').fill('/echo/from/the/browser');
    await page.locator('#req-body').fill('hello, echo');
    await page.locator('#run').click();
    await page.waitForFunction(() => /^\d{3}$/.test(document.querySelector('#res-status').textContent.trim())
      || document.querySelector('#try-error').textContent.trim() !== '', null, { timeout: 60_000 });
    assert.equal((await page.locator('#try-error').textContent()).trim(), '');
    assert.equal((await page.locator('#res-status').textContent()).trim(), '200');
    assert.match(await page.locator('#res-body').textContent(), /hello, echo/);

    // the WebSocket route: open, send, see the echo, close
    await page.locator('#conn-path').fill('/ws');
    await page.locator('#conn-open').click();
    await page.locator('#conn-message').fill('ping over ws');
    await page.locator('#conn-send').click();
    await page.waitForFunction(() => [...document.querySelectorAll('#conn-transcript li')]
      .filter((li) => li.textContent.includes('ping over ws')).length >= 2, null, { timeout: 30_000 })
      .catch(async () => {
        throw new Error(`no echo in the transcript: ${await page.locator('#conn-transcript').textContent()}`);
      });
    await page.locator('#conn-close').click();
    if (process.env.SCREENSHOTS) {
      await page.locator('#panel-try').screenshot({ path: join(process.env.SCREENSHOTS, 'try-websocket.png') });
    }

    const download = page.waitForEvent('download');
    await page.locator('#export').click();
    const file = await download;
    const saved = join(DOWNLOADS, file.suggestedFilename());
    await file.saveAs(saved);
    assert.equal(readFileSync(saved).subarray(0, 2).toString('latin1'), 'PK', 'the export is not a zip');
    assert.deepEqual(problems, [], 'the page raised errors');
    console.log(JSON.stringify({ imported: NAME, exported: saved }));
  } finally {
    await browser.close();
  }
}

main().catch((err) => {
  console.error(err.stack || String(err));
  process.exit(1);
});
