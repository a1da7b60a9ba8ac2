// Webhooks in the dashboard: add an endpoint, see its secret once, send a test event
// to a real receiver on this machine and watch the delivery succeed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { chromium } from 'playwright-core';
import { hydrated, launchOptions, login } from '../lib.mjs';

const base = process.env.HITCH_E2E_BASE;
let browser;
let receiver;
const received = [];

before(async () => {
  browser = await chromium.launch(launchOptions());
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok from the e2e receiver');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
});
after(async () => {
  await browser?.close();
  receiver?.close();
});

const hookUrl = (tag) => `http://127.0.0.1:${receiver.address().port}/hook/${tag}`;

test('add an endpoint, copy its secret, send a test event and see it delivered', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  // The refused URL below answers 422, which Chromium logs; anything else is a problem.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('status of 422')) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await login(page, base);
  await hydrated(page);
  await page.goto(`${base}/webhooks/new`);
  await hydrated(page);

  // A bad URL is refused under its field, nothing saved.
  await page.fill('input[name="input[url]"]', 'ftp://example.com/x');
  await page.click('button:has-text("Add endpoint")');
  await page.locator('#f-url-error').waitFor();
  assert.match(await page.locator('#f-url-error').textContent(), /https:\/\//);

  const url = hookUrl(`js-${Date.now()}`);
  await page.fill('input[name="input[url]"]', url);
  await page.check('#ev-client-created');
  await page.click('button:has-text("Add endpoint")');
  const secret = page.locator('input[aria-label="Signing secret"]');
  await secret.waitFor();
  const first = await secret.inputValue();
  assert.match(first, /^whsec_/);

  await page.click('a:has-text("Open endpoint")');
  await page.waitForURL(/\/webhooks\/whe_/);
  await hydrated(page);
  await page.locator('text=Signing secret').waitFor();
  assert.match(await page.locator('main').textContent(), /whsec_\.\.\./, 'the secret is masked from now on');
  // Rotating shows the new secret once, in place.
  await page.click('button:has-text("Rotate secret")');
  await secret.waitFor();
  const rotated = await secret.inputValue();
  assert.match(rotated, /^whsec_/);
  assert.notEqual(rotated, first);
  await page.locator('text=The previous secret also signs until').waitFor();
  await Promise.all([
    page.waitForURL(/\/webhooks\/deliveries\/whd_/),
    page.click('button:has-text("Send test event")'),
  ]);
  await hydrated(page);
  // The page follows the delivery live until the receiver has answered.
  await page.locator('main >> text=HTTP 200').waitFor({ timeout: 15000 });
  const got = received.find((r) => r.body.includes('webhook.test'));
  assert.ok(got, 'the receiver got the test event');
  assert.match(got.headers['webhook-signature'], /^v1,/);
  assert.ok(got.headers['webhook-id'].startsWith('evt_'));
  assert.deepEqual(problems, [], 'no console errors along the way');
  await context.close();
});

test('adding an endpoint works without JavaScript and says where the secret went', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await login(page, base);
  await page.goto(`${base}/webhooks/new`);
  await page.fill('input[name="input[url]"]', hookUrl(`nojs-${Date.now()}`));
  await Promise.all([page.waitForURL(/\/webhooks\/whe_.*notice=created_no_js/), page.click('button:has-text("Add endpoint")')]);
  assert.match(await page.locator('[role=status]').textContent(), /Endpoint added/);
  await page.goto(`${base}/webhooks`);
  assert.ok(await page.locator('#endpoint-list li').count() >= 1);
  await context.close();
});
