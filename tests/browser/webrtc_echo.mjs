// The WebRTC data-channel echo (examples/webrtc-echo/go) with a real browser peer: Debian's
// chromium, driven by playwright-core, opens the example's own page, which POSTs an SDP offer
// and echoes N messages over an RTCDataChannel (window.runEcho in the page). Prints one JSON
// line: set-up time (offer POST to channel open, in the page's clock) and echoes per second.
// tests/e2e/test_webrtc_echo.py starts the server and runs this.
//
//   PAGE_URL=http://127.0.0.1:8080/ [MESSAGES=200] [CHROMIUM=/usr/bin/chromium] node tests/browser/webrtc_echo.mjs

import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const PAGE = process.env.PAGE_URL;
const MESSAGES = Number(process.env.MESSAGES || 200);

async function main() {
  assert.ok(PAGE, 'set PAGE_URL to the example page');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      // nothing but the page's own traffic: no update checks, no field trials, no metrics
      '--disable-background-networking', '--disable-component-update', '--no-first-run',
      '--disable-default-apps', '--disable-sync', '--metrics-recording-only', '--no-pings',
      // the service is on loopback: let WebRTC gather a loopback host candidate, and name
      // host candidates by IP, not by an mDNS .local name the guest would have to resolve
      '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  });
  const problems = [];
  try {
    const page = await browser.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
    await page.goto(PAGE);
    const report = await page.evaluate((n) => window.runEcho(n), MESSAGES);
    assert.equal(report.n, MESSAGES);
    console.log(JSON.stringify({ ...report, browser: browser.version() }));
  } catch (err) {
    console.error(problems.join('\n'));
    throw err;
  } finally {
    await browser.close();
  }
}

await main();
