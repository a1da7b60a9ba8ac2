// Shared helpers for the browser tests: Debian's Chromium, driven by playwright-core.

export const DEMO_EMAIL = 'owner@demo.hitch.test';
export const DEMO_PASSWORD = 'hitch-demo-2026';

export function launchOptions() {
  return {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  };
}

export async function login(page, base) {
  await page.goto(`${base}/login`);
  await page.fill('input[name=email]', DEMO_EMAIL);
  await page.fill('input[name=password]', DEMO_PASSWORD);
  await Promise.all([page.waitForURL(/\/bookings/), page.click('button[type=submit]')]);
}

// Waits until the WASM has hydrated the page (the frontend marks <body>).
// On failure, says what the page logged and which requests failed, so a failed
// hydration can be diagnosed from the CI log alone.
export async function hydrated(page) {
  const notes = [];
  const onConsole = (m) => notes.push(`console.${m.type()}: ${m.text()}`);
  const onError = (e) => notes.push(`pageerror: ${e.message}`);
  const onFailed = (r) => notes.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  page.on('console', onConsole);
  page.on('pageerror', onError);
  page.on('requestfailed', onFailed);
  try {
    await page.waitForSelector('body[data-hydrated=true]', { timeout: 30000 });
  } catch (e) {
    e.message += `\nURL: ${page.url()}\n${notes.join('\n') || '(nothing logged)'}`;
    throw e;
  } finally {
    page.off('console', onConsole);
    page.off('pageerror', onError);
    page.off('requestfailed', onFailed);
  }
}
