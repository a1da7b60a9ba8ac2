// Screenshots of dashboard pages for review: node end2end/tools/screenshot.mjs <base-url> <out-dir> [width]
import { chromium } from 'playwright-core';
import { launchOptions, login } from '../lib.mjs';

const [base, out = 'target/screenshots', width = '1280'] = process.argv.slice(2);
const browser = await chromium.launch(launchOptions());
const page = await browser.newPage({ viewport: { width: Number(width), height: 900 } });
await page.goto(`${base}/login`);
await page.screenshot({ path: `${out}/login-${width}.png`, fullPage: true });
await login(page, base);
for (const path of ['/bookings', '/bookings/new', '/clients', '/invoices', '/invoices/new', '/calendar', '/calendar/feeds', '/calendar/sync', '/settings', '/integrations', '/notifications', '/notifications/templates', '/notifications/templates?event_type=booking.reminder&family=sms']) {
  await page.goto(base + path);
  await page.screenshot({ path: `${out}/${path.slice(1).replaceAll('/', '-')}-${width}.png`, fullPage: true });
}
await browser.close();
