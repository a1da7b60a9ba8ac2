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

// Drags a booking by (dx, dy) pixels with the mouse, in small steps as a hand would.
async function drag(page, block, dx, dy) {
  await block.scrollIntoViewIfNeeded();
  const box = await block.boundingBox();
  const x = box.x + box.width / 2;
  const y = box.y + Math.min(10, box.height / 2);
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + dx / 2, y + dy / 2, { steps: 5 });
  await page.mouse.move(x + dx, y + dy, { steps: 5 });
  await page.mouse.up();
}

test('drag a booking to another time and another resource; a refused move snaps back', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1400 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await login(page, base);
  const day = new Date(Date.now() + 23 * 86400000).toISOString().slice(0, 10);
  await page.goto(`${base}/bookings/new`);
  await hydrated(page);
  await page.selectOption('select[name="input[resource_id]"]', { label: 'Main room (up to 40 guests)' });
  await page.selectOption('select[name="input[client_id]"]', { label: 'Grace Hopper' });
  await page.fill('input[name="input[date]"]', day);
  await page.fill('input[name="input[start_time]"]', '14:00');
  await page.fill('input[name="input[end_time]"]', '15:00');
  await page.fill('input[name="input[party_size]"]', '3');
  await Promise.all([page.waitForURL(/notice=created/), page.click('button:has-text("Create booking")')]);

  await page.goto(`${base}/calendar?view=day&date=${day}`);
  await hydrated(page);
  const columns = page.locator('#agenda .agenda-col');
  const names = await page.locator('#agenda .h-12 .font-semibold').allTextContents();
  const main = names.indexOf('Main room');
  const terrace = names.indexOf('Terrace');
  const block = (col, time) => columns.nth(col).locator('a.agenda-item', { hasText: 'Grace Hopper' }).filter({ hasText: time });
  assert.equal(await block(main, '14:00–15:00').count(), 1);
  const hour = Number(await page.locator('#agenda').getAttribute('data-hour-px'));

  // An hour later, same room.
  await Promise.all([page.waitForEvent('load'), drag(page, block(main, '14:00–15:00'), 0, hour)]);
  await block(main, '15:00–16:00').waitFor();
  await hydrated(page);

  // To 11:00: the Main room opens at 12:00. Refused, with the reason, and put back.
  await drag(page, block(main, '15:00–16:00'), 0, -4 * hour);
  const error = page.locator('#agenda-move-error');
  await error.waitFor();
  assert.match(await error.textContent(), /Not moved: .*open/i);
  assert.equal(await block(main, '15:00–16:00').count(), 1, 'still at 15:00');
  assert.equal(await block(main, '15:00–16:00').evaluate((el) => el.style.transform), '', 'snapped back');

  // Across to the Terrace, same time.
  const from = await block(main, '15:00–16:00').boundingBox();
  const to = await columns.nth(terrace).boundingBox();
  await Promise.all([
    page.waitForEvent('load'),
    drag(page, block(main, '15:00–16:00'), to.x + to.width / 2 - (from.x + from.width / 2), 0),
  ]);
  await block(terrace, '15:00–16:00').waitFor();
  assert.equal(await block(main, '15:00–16:00').count(), 0);

  // A click without a drag still opens the booking, which says where it now is.
  await Promise.all([page.waitForURL(/\/bookings\/bk_/), block(terrace, '15:00–16:00').click()]);
  const resource = page.locator('select[name="input[resource_id]"] option:checked');
  assert.match(await resource.textContent(), /^Terrace/);
  assert.equal(await page.inputValue('input[name="input[start_time]"]'), '15:00');
  assert.deepEqual(problems, []);
  await context.close();
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
