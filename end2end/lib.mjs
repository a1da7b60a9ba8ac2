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
export async function hydrated(page) {
  await page.waitForSelector('body[data-hydrated=true]', { timeout: 60000 });
}
