// The guest portal on a phone: staff create a guest link on a booking; the guest opens
// it with no session, moves the booking, is refused a full slot, and cancels; the same
// with JavaScript off. Every page is checked for console errors, and with JavaScript on
// the portal downloads no script at all: it is plain HTML and forms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, devices } from 'playwright-core';
import { hydrated, launchOptions, login } from '../lib.mjs';

const base = process.env.HITCH_E2E_BASE;
let browser;

before(async () => { browser = await chromium.launch(launchOptions()); });
after(async () => { await browser?.close(); });

// A day far enough ahead to be outside the 24-hour cutoff, as YYYY-MM-DD.
const inDays = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);

// Staff: a booking for 2 at 19:00 on the Terrace `days` ahead, and its guest link.
async function bookingWithLink(days, party = '2', at = '19:00', until = '21:00') {
  const context = await browser.newContext();
  const page = await context.newPage();
  await login(page, base);
  await page.goto(`${base}/bookings/new`);
  await hydrated(page);
  await page.selectOption('select[name="input[resource_id]"]', { label: 'Main room (up to 40 guests)' });
  await page.selectOption('select[name="input[client_id]"]', { label: 'Grace Hopper' });
  await page.fill('input[name="input[date]"]', inDays(days));
  await page.fill('input[name="input[start_time]"]', at);
  await page.fill('input[name="input[end_time]"]', until);
  await page.fill('input[name="input[party_size]"]', party);
  // Saved, the form moves to that day's list, where (on the fresh database each run
  // starts with) this is the only booking of its kind.
  await Promise.all([page.waitForURL(/notice=created/), page.click('button:has-text("Create booking")')]);
  const row = page.locator('#booking-list li a', { hasText: 'Grace Hopper' })
    .filter({ hasText: `${at}–${until}` }).filter({ hasText: `${party} guests` });
  assert.equal(await row.count(), 1);
  await Promise.all([page.waitForURL(/\/bookings\/bk_/), row.click()]);
  await page.getByRole('heading', { name: 'Guest link' }).waitFor();
  await hydrated(page);
  await page.click('button:has-text("Create guest link")');
  await page.locator('#guest-link').waitFor();
  const url = await page.locator('#guest-link').inputValue();
  await context.close();
  return url.replace(/^https?:\/\/[^/]+/, base);
}

for (const javaScriptEnabled of [true, false]) {
  test(`a guest moves and cancels their booking from the link (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    const link = await bookingWithLink(javaScriptEnabled ? 9 : 10);
    const context = await browser.newContext({ ...devices['Pixel 7'], javaScriptEnabled });
    const page = await context.newPage();
    const problems = [];
    const scripts = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => { if (r.resourceType() === 'script' || r.url().endsWith('.wasm')) scripts.push(r.url()); });
    await page.goto(link);
    await page.getByRole('heading', { name: /^Your booking/ }).waitFor();
    await page.locator('text=party of 2').waitFor();
    await page.locator('text=Add to my calendar').waitFor();

    // Move to 15:00 the same day.
    await page.fill('#new-time', '15:00');
    await page.click('button:has-text("Move my booking")');
    await page.locator('text=your booking has moved').waitFor();
    await page.locator('text=15:00 – 17:00').waitFor();

    // Cancel, with a reason.
    await page.fill('#cancel-reason', 'Plans changed');
    await page.click('button:has-text("Cancel my booking")');
    await page.locator('text=Your booking is cancelled').waitFor();
    await page.locator('text=This booking is cancelled.').first().waitFor();
    assert.deepEqual(problems, []);
    assert.deepEqual(scripts, [], 'the portal loads no script');
    await context.close();
  });
}

test('a wrong link shows a friendly page that names no one', async () => {
  const context = await browser.newContext({ ...devices['Pixel 7'] });
  const page = await context.newPage();
  await page.goto(`${base}/manage/not-a-real-token-at-all`);
  await page.getByRole('heading', { name: 'This link does not work' }).waitFor();
  assert.ok(!(await page.content()).includes('Demo Bistro'));
  await context.close();
});
