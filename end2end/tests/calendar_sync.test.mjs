// Google Calendar sync in the dashboard against the fake Google: connect (the OAuth
// round trip through the fake's consent screen), mark a calendar as busy, then a
// booking's event moved in Google waits as a proposed change that staff reject; and
// without JavaScript, the same round trip with busy time and the waiting change shown
// in the calendar view.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { hydrated, launchOptions, login, DEMO_EMAIL, DEMO_PASSWORD } from '../lib.mjs';

const base = process.env.HITCH_E2E_BASE;
const google = process.env.HITCH_E2E_GOOGLE;
let browser;

before(async () => { browser = await chromium.launch(launchOptions()); });
after(async () => { await browser?.close(); });

async function until(what, check, ms = 20000) {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('connect Google, choose a busy calendar, and reject a change made there', async () => {
  const page = await (await browser.newContext()).newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await login(page, base);
  await page.goto(`${base}/calendar/sync`);
  await hydrated(page);
  await page.click('button:has-text("Connect Google Calendar")');
  await page.waitForURL(/notice=calendar_connected/);
  await page.locator('text=Google Calendar connected').waitFor();
  await page.locator('li', { hasText: 'owner@example.com' }).first().waitFor();

  const team = page.locator('li.bg-slate-50', { hasText: 'Team rota' });
  await team.locator('button:has-text("Block slots")').click();
  await page.locator('text=Saved.').waitFor();
  await page.locator('li.bg-slate-50', { hasText: 'Team rota' }).locator('text=blocks slots').waitFor();

  // The demo's upcoming bookings reach Google; move one there as its owner would.
  const events = await until('events in Google', async () => {
    const list = await (await fetch(`${google}/_test/events`)).json();
    return list.filter((e) => e.status === 'confirmed').length ? list : null;
  });
  const ev = events.find((e) => e.status === 'confirmed');
  const start = new Date(Date.parse(ev.start.dateTime) + 3600_000);
  const end = new Date(Date.parse(ev.end.dateTime) + 3600_000);
  const moved = await fetch(`${google}/_test/move`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: ev.id, start: start.toISOString(), end: end.toISOString() }),
  });
  assert.equal(moved.status, 200);
  await until('the proposed change', async () => {
    await page.goto(`${base}/calendar/sync`);
    return (await page.locator('#changes li').count()) > 0;
  });
  await hydrated(page);
  await page.locator('#changes li').first().locator('button:has-text("Keep Hitch\'s booking")').click();
  await page.locator('text=Change rejected').waitFor();
  // Hitch writes its version back over the move.
  await until('the event put back', async () => {
    const list = await (await fetch(`${google}/_test/events`)).json();
    return list.find((e) => e.id === ev.id)?.start.dateTime === ev.start.dateTime;
  });
  assert.deepEqual(problems, []);
});

async function post(path, body) {
  const res = await fetch(`${google}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, path);
  return res;
}

test('without JavaScript: connect, see busy time and a waiting change in the calendar, decide', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('input[name=email]', DEMO_EMAIL);
  await page.fill('input[name=password]', DEMO_PASSWORD);
  await Promise.all([page.waitForURL(/\/bookings/), page.click('button[type=submit]')]);
  await page.goto(`${base}/calendar/sync`);
  await Promise.all([
    page.waitForURL(/notice=calendar_connected/),
    page.click('button:has-text("Connect Google Calendar")'),
  ]);
  await page.locator('text=Google Calendar connected').waitFor();

  // The latest of the bookings' events, moved an hour later in Google; and an hour of
  // the owner's own on that day.
  const ours = await until('events in Google', async () => {
    const list = await (await fetch(`${google}/_test/events`)).json();
    const mine = list.filter((e) => e.id.startsWith('hitch') && e.status === 'confirmed');
    return mine.length ? mine : null;
  });
  ours.sort((a, b) => a.start.dateTime.localeCompare(b.start.dateTime));
  const ev = ours[ours.length - 1];
  const hour = 3600_000;
  await post('/_test/move', {
    id: ev.id,
    start: new Date(Date.parse(ev.start.dateTime) + hour).toISOString(),
    end: new Date(Date.parse(ev.end.dateTime) + hour).toISOString(),
  });
  const day = new Date(ev.start.dateTime).toLocaleDateString('sv-SE', { timeZone: 'Europe/Paris' });
  await post('/_test/create', { start: `${day}T05:00:00Z`, end: `${day}T06:00:00Z` });

  await until('busy time and the mark in the day view', async () => {
    await page.goto(`${base}/calendar?view=day&date=${day}`);
    return (await page.locator('.agenda-busy').count()) > 0
      && (await page.locator('.agenda-conflict').count()) > 0;
  });
  const busy = await page.locator('.agenda-busy').first().getAttribute('aria-label');
  assert.match(busy, /^Busy in your calendar 0[67]:00–0[78]:00/);
  assert.match(await page.locator('.agenda-conflict').first().innerText(), /Moved to .* in your calendar/);
  await page.goto(`${base}/calendar/sync`);
  const row = page.locator('#changes li').first();
  await Promise.all([
    page.waitForURL(/notice=change_rejected/),
    row.locator('button:has-text("Keep Hitch\'s booking")').click(),
  ]);
  await page.locator('text=Change rejected').waitFor();
  await page.goto(`${base}/calendar?view=day&date=${day}`);
  assert.equal(await page.locator('.agenda-conflict').count(), 0);
  await context.close();
});
