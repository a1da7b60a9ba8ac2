// Every dashboard page, loaded in full, hydrates its islands without a console error,
// under a script policy that runs only the page's own nonce-carrying scripts (a
// violation would be a console error and a `securitypolicyviolation` event).
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
  '/webhooks/deliveries', '/calendar', '/calendar/feeds', '/calendar/sync', '/notifications',
  '/notifications/templates',
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
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  await login(page, base);
  await hydrated(page);
  for (let round = 0; round < ROUNDS; round++) {
    for (const path of PAGES) {
      const res = await page.goto(`${base}${path}`);
      const policy = res.headers()['content-security-policy'] ?? '';
      assert.match(policy, /script-src 'nonce-[\w-]{22}' 'strict-dynamic'/, `${path} has a script policy`);
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

test('a script injected into a page does not run', async () => {
  // What an attacker's markup would be, had it got into a page: an inline script and
  // an inline handler, without the answer's nonce.
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = [];
  page.on('console', (m) => { if (/Content Security Policy/.test(m.text())) violations.push(m.text()); });
  await login(page, base);
  await hydrated(page);
  const ran = await page.evaluate(async () => {
    window.__injected = false;
    const s = document.createElement('div');
    s.innerHTML = '<img src="/nope.png" onerror="window.__injected = true">';
    document.body.appendChild(s);
    // A parser-inserted script, the shape of stored cross-site scripting.
    document.body.insertAdjacentHTML('beforeend', '<iframe srcdoc="<script>parent.__injected = true</script>"></iframe>');
    await new Promise((r) => setTimeout(r, 500));
    return window.__injected;
  });
  assert.equal(ran, false, 'the injected script ran');
  assert.ok(violations.length > 0, 'the browser reports the blocked script');
  await context.close();
});
