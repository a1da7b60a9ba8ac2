// Notifications in the dashboard: connect a Slack channel to a receiver on this
// machine, send a test, edit a template with the live preview (and, without
// JavaScript, with the Preview button), and see the message in the log and the chart.
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
  // Answers like a Slack incoming webhook: 200 `ok`.
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
});
after(async () => {
  await browser?.close();
  receiver?.close();
});

test('connect Slack, send a test, edit a template with a live preview, see the log and chart', async () => {
  const page = await (await browser.newContext()).newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await login(page, base);
  await page.goto(`${base}/notifications`);
  await hydrated(page);

  const name = `Front desk ${Date.now()}`;
  const hook = `http://127.0.0.1:${receiver.address().port}/services/T0/B0/${Date.now()}`;
  await page.click('summary:has-text("Connect a channel")');
  await page.selectOption('#ch-kind', 'slack');
  await page.fill('#ch-name', name);
  await page.fill('#ch-secret', hook);
  await page.click('button:has-text("Connect")');
  const row = page.locator('#channels li', { hasText: name });
  await row.waitFor();
  assert.doesNotMatch(await page.locator('main').textContent(), new RegExp(hook.replace(/[/.]/g, '\\$&')), 'the webhook URL is masked');

  await row.locator('button:has-text("Send a test")').click();
  await page.locator('text=Test event sent').waitFor();
  const got = received.find((r) => hook.endsWith(r.url));
  assert.ok(got, 'the receiver got the test message');
  const msg = JSON.parse(got.body);
  assert.equal(msg.blocks[0].type, 'header');
  await page.locator('#log li', { hasText: 'Test message' }).first().waitFor();
  assert.match(await page.locator('#chart').textContent(), /[1-9]\d* sent/);

  // The template editor: the preview follows typing, and refuses an unknown variable.
  await page.goto(`${base}/notifications/templates?event_type=booking.created&family=slack`);
  await hydrated(page);
  await page.fill('#tpl-body', 'Table for {{ guest.nmae }}');
  await page.locator('#preview-error').waitFor();
  assert.match(await page.locator('#preview-error').textContent(), /line 1, column 14: unknown variable `guest.nmae` \(did you mean `guest.name`\?\)/);
  await page.fill('#tpl-body', 'Table for {{ guest.name }}, {{ booking.party_size }} people');
  await page.locator('#preview', { hasText: 'Table for Ada Lovelace, 4 people' }).waitFor();
  await page.click('button:has-text("Save")');
  await page.locator('text=Template saved').waitFor();
  assert.match(await page.locator('main').textContent(), /your template/);
  await page.click('button:has-text("Back to Hitch\'s default")');
  await page.locator('text=Back to Hitch\'s default template').waitFor();

  // Leave no channel behind for the other specs.
  await page.goto(`${base}/notifications`);
  await hydrated(page);
  await page.locator('#channels li', { hasText: name }).locator('button:has-text("Delete")').click();
  await page.locator('text=Channel deleted').waitFor();
  assert.deepEqual(problems, []);
});

test('without JavaScript the Preview button renders the draft on the server', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('input[name=email]', 'owner@demo.hitch.test');
  await page.fill('input[name=password]', 'hitch-demo-2026');
  await Promise.all([page.waitForURL(/\/bookings/), page.click('button[type=submit]')]);
  await page.goto(`${base}/notifications/templates?event_type=booking.reminder&family=sms`);
  await page.fill('#tpl-body', 'See you {{ booking.starts_at|time }}, {{ guest.name }} — {{ org.name }}');
  await Promise.all([page.waitForURL(/input%5Bbody%5D=/), page.click('button:has-text("Preview")')]);
  const preview = await page.locator('#preview').textContent();
  assert.match(preview, /See you 19:00, Ada Lovelace — Demo Bistro/);
  // The dash is outside GSM-7: one UCS-2 segment.
  assert.match(await page.locator('#segments').textContent(), /1 SMS segment\(s\), UCS-2/);
  await context.close();
});
