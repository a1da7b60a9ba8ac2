// Stripe in the dashboard: connect the account, make a payment link for an invoice, see
// it paid (the event signed by Stripe's official library) and refund part of it; and
// the same buttons as plain forms with JavaScript off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import Stripe from 'stripe';
import { hydrated, launchOptions, login } from '../lib.mjs';

const base = process.env.HITCH_E2E_BASE;
const fakeStripe = process.env.HITCH_E2E_STRIPE;
const WHSEC = 'whsec_e2e_signing_secret_0123456789';
const stripe = new Stripe('sk_test_unused_by_the_signer');
let browser;

before(async () => { browser = await chromium.launch(launchOptions()); });
after(async () => { await browser?.close(); });

// The payer pays on (fake) Stripe, and Stripe reports it, signed as Stripe signs.
async function payAndReport(sessionId, eventId) {
  const paid = await fetch(`${fakeStripe}/_test/pay/${sessionId}`, { method: 'POST' });
  assert.equal(paid.status, 200);
  const payload = JSON.stringify({
    id: eventId, object: 'event', type: 'checkout.session.completed', created: Math.floor(Date.now() / 1000),
    livemode: false, data: { object: await paid.json() },
  });
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret: WHSEC });
  const res = await fetch(`${base}/webhooks/stripe/demo-bistro`, {
    method: 'POST', body: payload, headers: { 'content-type': 'application/json', 'stripe-signature': header },
  });
  assert.equal(res.status, 200, await res.text());
}

test('connect Stripe, send a payment link, see the invoice paid live, refund part', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await login(page, base);
  await page.goto(`${base}/integrations/stripe`);
  await hydrated(page);
  await page.getByRole('heading', { name: 'Not connected' }).waitFor();

  // A publishable key is refused on its field.
  await page.fill('#stripe-secret-key', 'pk_test_51PublishableKeyNotSecret');
  await page.fill('#stripe-webhook-secret', WHSEC);
  await page.click('button:has-text("Save and check")');
  await page.locator('#stripe-secret-key-help >> text=publishable key').waitFor();
  assert.equal(await page.getAttribute('#stripe-secret-key', 'aria-invalid'), 'true');

  await page.fill('#stripe-secret-key', 'sk_test_51E2eSecretKeyForHitch');
  await page.fill('#stripe-webhook-secret', WHSEC);
  await page.click('button:has-text("Save and check")');
  await page.getByRole('heading', { name: 'Connected to Demo Bistro (fake)' }).waitFor();
  await page.locator('text=Test mode: no real money moves').waitFor();
  const text = await page.locator('main').innerText();
  assert.ok(!text.includes('sk_test_51E2eSecretKeyForHitch') && !text.includes(WHSEC), 'keys are never shown again');
  assert.ok(text.includes('/webhooks/stripe/demo-bistro') || (await page.inputValue('input[aria-label="Webhook endpoint URL"]')).endsWith('/webhooks/stripe/demo-bistro'));

  // INV-00002 (sent, €850.00): make a link.
  await page.goto(`${base}/invoices`);
  await hydrated(page);
  await page.click('text=INV-00002');
  await page.getByRole('heading', { name: 'Online payment' }).waitFor();
  await hydrated(page);
  await page.locator('text=Create a Stripe payment link for €850.00').waitFor();
  await page.click('button:has-text("Create payment link")');
  await page.locator('#payment-url').waitFor();
  const url = await page.locator('#payment-url').inputValue();
  assert.match(url, /^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);
  await page.locator('text=Waiting for payment').waitFor();

  // Paid: the page updates without a reload.
  await payAndReport(url.split('/').pop(), 'evt_e2e_paid');
  await page.locator('text=Paid €850.00').waitFor({ timeout: 15000 });
  // …and so does the invoice's own status.
  await page.locator('span', { hasText: /^Paid$/ }).first().waitFor({ timeout: 15000 });

  // Refund €100.00 of it.
  await page.click('summary:has-text("Refund through Stripe")');
  await page.fill('#refund-amount', '100');
  await page.fill('#refund-reason', 'Dessert was missing');
  await page.click('button[type=submit]:has-text("Refund through Stripe")');
  await page.locator('text=Paid €850.00, €100.00 refunded').waitFor({ timeout: 10000 });
  await page.locator('text=Dessert was missing').waitFor();
  await context.close();
});

test('without JavaScript, the payment link button is a plain form that says what happened', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('input[name=email]', 'owner@demo.hitch.test');
  await page.fill('input[name=password]', 'hitch-demo-2026');
  await Promise.all([page.waitForURL(/\/bookings/), page.click('button[type=submit]')]);
  await page.goto(`${base}/invoices`);
  await page.click('text=INV-00004');
  await page.click('button:has-text("Create payment link")');
  await page.locator('text=Payment link created').waitFor();
  assert.match(await page.locator('#payment-url').inputValue(), /checkout\.stripe\.com/);
  await page.click('button:has-text("Expire link")');
  await page.locator('text=Payment link expired').waitFor();
  await page.locator('button:has-text("Create payment link")').waitFor();
  await context.close();
});
