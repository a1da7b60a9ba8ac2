// Browser flows in Debian Chromium against a running Hitch (HITCH_E2E_BASE).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { hydrated, launchOptions, login } from '../lib.mjs';

const base = process.env.HITCH_E2E_BASE;
let browser;

before(async () => { browser = await chromium.launch(launchOptions()); });
after(async () => { await browser?.close(); });

function futureDate(days) {
  const d = new Date(Date.now() + days * 86400000);
  return d.toISOString().slice(0, 10);
}

async function fillBooking(page, { date, party }) {
  await page.selectOption('select[name="input[resource_id]"]', { label: 'Main room (up to 40 guests)' });
  await page.selectOption('select[name="input[client_id]"]', { label: 'Grace Hopper' });
  await page.fill('input[name="input[date]"]', date);
  await page.fill('input[name="input[start_time]"]', '19:00');
  await page.fill('input[name="input[end_time]"]', '21:00');
  await page.fill('input[name="input[party_size]"]', party);
  await page.fill('textarea[name="input[notes]"]', `e2e ${party}`);
}

for (const javaScriptEnabled of [true, false]) {
  const mode = javaScriptEnabled ? 'hydrated' : 'without JavaScript';

  test(`create a booking: invalid field first, then fixed (${mode})`, async () => {
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    await login(page, base);
    // Let the first page finish loading the WASM before moving on, as a person would;
    // navigating away mid-download can leave Chromium waiting on its cache entry.
    if (javaScriptEnabled) await hydrated(page);
    // A date and party size of our own, so reruns against one database stay exact.
    const date = futureDate(20 + Math.floor(Math.random() * 300));
    const party = String(2 + Math.floor(Math.random() * 30));
    await page.goto(`${base}/bookings/new`);
    if (javaScriptEnabled) await hydrated(page);
    await fillBooking(page, { date, party: 'lots' });
    await page.click('button:has-text("Create booking")');
    const error = page.locator('#f-party_size-error');
    await error.waitFor();
    assert.match(await error.textContent(), /number of guests/i);
    assert.equal(await page.getAttribute('#f-party_size', 'aria-invalid'), 'true');

    if (javaScriptEnabled) {
      // Hydrated: the form stayed as typed; only the bad field needs fixing.
      assert.equal(await page.inputValue('textarea[name="input[notes]"]'), 'e2e lots');
      await page.fill('input[name="input[party_size]"]', party);
    } else {
      // Without JS the error arrives on a fresh page load, so the form is filled again.
      await fillBooking(page, { date, party });
    }
    await Promise.all([page.waitForURL(/notice=created/), page.click('button:has-text("Create booking")')]);
    await page.locator('[role=status]').waitFor();
    assert.match(await page.locator('[role=status]').textContent(), /Booking created/);
    const row = page.locator('#booking-list li', { hasText: 'Grace Hopper' }).filter({ hasText: `${party} guests` });
    // After a client-side navigation the list loads after the notice: wait for it.
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    assert.match(await row.textContent(), /19:00–21:00/);
    await context.close();
  });
}

test('an open bookings list follows bookings made elsewhere, and never drops what you typed', async () => {
  const context = await browser.newContext();
  const watcher = await context.newPage();
  await login(watcher, base);
  // Later than the other test's days, so only this test's bookings are on the list.
  const date = futureDate(330 + Math.floor(Math.random() * 300));
  await watcher.goto(`${base}/bookings?day=${date}`);
  await hydrated(watcher);
  const rows = watcher.locator('#booking-list li', { hasText: 'Grace Hopper' });
  assert.equal(await rows.count(), 0);

  // Another tab books that day: the list reloads itself and shows it.
  const other = await context.newPage();
  const book = async (party) => {
    await other.goto(`${base}/bookings/new`);
    await hydrated(other);
    await fillBooking(other, { date, party });
    await Promise.all([other.waitForURL(/notice=created/), other.click('button:has-text("Create booking")')]);
  };
  await book('3');
  await rows.filter({ hasText: '3 guests' }).waitFor({ timeout: 10000 });
  await hydrated(watcher);

  // Half-way through typing a filter, a change only offers the reload.
  await watcher.fill('#day', '2030-01-02');
  await book('4');
  const bar = watcher.locator('[role=status]', { hasText: 'Newer information is available' });
  await bar.waitFor({ timeout: 10000 });
  assert.equal(await watcher.inputValue('#day'), '2030-01-02', 'what was typed is still there');
  assert.equal(await rows.count(), 1);
  await bar.locator('button:has-text("Reload")').click();
  await rows.filter({ hasText: '4 guests' }).waitFor();
  assert.equal(await rows.count(), 2);
  await context.close();
});

test('wrong password shows a clear message', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('input[name=email]', 'owner@demo.hitch.test');
  await page.fill('input[name=password]', 'nope');
  await page.click('button[type=submit]');
  await page.locator('[role=alert]').waitFor();
  assert.match(await page.locator('[role=alert]').textContent(), /Wrong email or password/);
  await context.close();
});
