// Calendar feeds in the dashboard: make a link, subscribe to it as a calendar app
// would (parsed with ical.js), replace and revoke it; and without JavaScript, a
// name of only spaces gets the field's error while a good one makes the link.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import ICAL from 'ical.js';
import { hydrated, launchOptions, login, DEMO_EMAIL, DEMO_PASSWORD } from '../lib.mjs';

const base = process.env.HITCH_E2E_BASE;
let browser;

before(async () => { browser = await chromium.launch(launchOptions()); });
after(async () => { await browser?.close(); });

test('the calendar switches between day and week and opens a booking', async () => {
  const page = await (await browser.newContext()).newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await login(page, base);
  await page.goto(`${base}/calendar`);
  await hydrated(page);
  const day = await page.locator('#agenda-title').textContent();
  await page.click('nav[aria-label=Dates] a:has-text("Week")');
  await page.waitForURL(/view=week/);
  await page.waitForFunction((d) => document.querySelector('#agenda-title')?.textContent !== d, day);
  assert.match(await page.locator('#agenda-title').textContent(), / – /);
  assert.equal(await page.locator('#agenda > div > div').count(), 8, 'a time gutter and seven days');
  const first = page.locator('#agenda a[href^="/bookings/"]').first();
  if (await first.count()) {
    await first.click();
    await page.waitForURL(/\/bookings\/bk_/);
  }
  assert.deepEqual(problems, []);
});

test('make a feed link, read it as a calendar app, replace and revoke it', async () => {
  const page = await (await browser.newContext()).newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await login(page, base);
  await page.goto(`${base}/calendar/feeds`);
  await hydrated(page);

  const name = `Kitchen ${Date.now()}`;
  await page.fill('#f-label', name);
  await page.selectOption('#f-privacy', 'full');
  await page.click('button:has-text("Make link")');
  await page.locator('text=Feed created').waitFor();
  const row = page.locator('#feeds li', { hasText: name });
  await row.waitFor();
  const link = await row.locator('input[readonly]').inputValue();
  assert.match(link, /\/feeds\/[A-Za-z0-9_-]{43}\.ics$/);

  const res = await fetch(link);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/calendar; charset=utf-8');
  const cal = new ICAL.Component(ICAL.parse(await res.text()));
  assert.equal(cal.getFirstPropertyValue('x-wr-calname'), `Demo Bistro — ${name}`);
  assert.ok(cal.getAllSubcomponents('vevent').length > 0, 'the demo bookings are in it');

  await row.locator('button:has-text("Make a new link")').click();
  await page.locator('text=New link made').waitFor();
  const replaced = await page.locator('#feeds li', { hasText: name }).locator('input[readonly]').inputValue();
  assert.notEqual(replaced, link);
  assert.equal((await fetch(link)).status, 404, 'the old link stops at once');
  assert.equal((await fetch(replaced)).status, 200);

  await page.locator('#feeds li', { hasText: name }).locator('button:has-text("Revoke")').click();
  await page.locator('text=Feed revoked').waitFor();
  assert.equal(await page.locator('#feeds li', { hasText: name }).count(), 0);
  assert.equal((await fetch(replaced)).status, 404);
  assert.deepEqual(problems, []);
});

test('without JavaScript the form shows the field error, then makes the link', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('input[name=email]', DEMO_EMAIL);
  await page.fill('input[name=password]', DEMO_PASSWORD);
  await Promise.all([page.waitForURL(/\/bookings/), page.click('button[type=submit]')]);
  await page.goto(`${base}/calendar/feeds`);
  await page.fill('#f-label', '   ');
  await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Make link")')]);
  await page.locator('#f-label-error').waitFor();
  assert.match(await page.locator('#f-label-error').textContent(), /Give the feed a name/);

  const name = `Front desk ${Date.now()}`;
  await page.fill('#f-label', name);
  await Promise.all([page.waitForURL(/notice=feed_created/), page.click('button:has-text("Make link")')]);
  const link = await page.locator('#feeds li', { hasText: name }).locator('input[readonly]').inputValue();
  assert.equal((await fetch(link)).status, 200);
  await context.close();
});
