// Every dashboard page, loaded in full, hydrates its islands without a console error.
// Guards against server-rendered markup an island's WASM disagrees with (a hydration
// mismatch leaves the island as dead HTML), which showed up on some loads only: hence
// several rounds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { DEMO_EMAIL, DEMO_PASSWORD, hydrated, launchOptions, login } from '../lib.mjs';

const base = process.env.HITCH_E2E_BASE;
const PAGES = [
  '/bookings', '/bookings/new', '/clients', '/clients/new', '/invoices', '/invoices/new',
  '/integrations', '/integrations/stripe', '/jobs', '/settings', '/webhooks', '/webhooks/new',
  '/webhooks/deliveries',
];
const ROUNDS = 3;
let browser;

before(async () => { browser = await chromium.launch(launchOptions()); });
after(async () => { await browser?.close(); });

test(`every dashboard page hydrates its islands on a full load (${ROUNDS} rounds)`, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${page.url()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
  await login(page, base);
  await hydrated(page);
  for (let round = 0; round < ROUNDS; round++) {
    for (const path of PAGES) {
      await page.goto(`${base}${path}`);
      await hydrated(page);
      // The frame shows who is signed in, and the page its own heading.
      await page.locator('aside >> text=Demo Bistro').waitFor();
      assert.ok(await page.locator('main h1').count() > 0, `${path} has a heading`);
    }
  }
  assert.deepEqual(problems, [], 'console errors while loading dashboard pages');
  await context.close();
});

test('a signed-out visitor is sent to the sign-in page, and back after signing in', async () => {
  for (const javaScriptEnabled of [true, false]) {
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    for (const path of ['/bookings', '/invoices/new', '/settings']) {
      await page.goto(`${base}${path}`);
      const url = new URL(page.url());
      assert.equal(url.pathname, '/login', `${path} redirects to /login (JS ${javaScriptEnabled})`);
      assert.equal(url.searchParams.get('next'), path, `the sign-in page remembers ${path}`);
      await page.locator('input[name=email]').waitFor();
    }
    // Signed in from the last page's redirect, the visitor lands on that page.
    if (javaScriptEnabled) await hydrated(page);
    await page.fill('input[name=email]', DEMO_EMAIL);
    await page.fill('input[name=password]', DEMO_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/settings`);
    await page.locator('main h1').waitFor();
    await context.close();
  }
});
