/**
 * The operations console at /admin in a real headless Chromium, signed in with Basic auth: the
 * home page counts orders by status, stuck orders and failed jobs; a search finds a stuck order;
 * its page shows the timeline and the failed job that holds it; the forms retry that job and
 * cancel another order. Screenshots are taken and checked, and kept in test-results/
 * (`UPDATE_SCREENSHOTS=1` also writes the home page to docs/console.png, the README's picture).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Carrier } from '../src/domain/ports.ts';
import { SandboxCarrier } from '../src/sandbox/carrier.ts';
import { browserAvailable, launchBrowser } from './support/browser.ts';
import { ADMIN_TOKEN, Harness, orderBody, type OrderJson } from './support/harness.ts';

const available = browserAvailable;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const STUCK_AFTER_MS = 1_500;

/** A carrier that is down until the test brings it back. */
class SwitchableCarrier implements Carrier {
  up = false;
  constructor(private readonly real: Carrier) {}
  createShipment(request: { orderId: string; address: unknown }) {
    if (!this.up) return Promise.reject(new Error('carrier unreachable: connection refused'));
    return this.real.createShipment(request);
  }
  cancelShipment(request: { orderId: string }) {
    return this.real.cancelShipment(request);
  }
}

let h: Harness;
let browser: Browser;
let carrier: SwitchableCarrier;
let held: OrderJson; // stuck in AWAITING_SHIPMENT behind a failed shipping job; retried
let toCancel: OrderJson; // stuck the same way; cancelled through the form
let declined: OrderJson; // FAILED, at rest

beforeAll(async () => {
  h = await Harness.start({
    queues: ['payment', 'inventory', 'notification', 'refund'],
    env: { STUCK_AFTER_MS: String(STUCK_AFTER_MS), JOB_ATTEMPTS: '2' },
  });
  carrier = new SwitchableCarrier(new SandboxCarrier(h.db));
  h.startWorkers(['shipping'], { carrier });
  await h.putProduct('MUG-001', 100, 1_250, 'Enamel mug');
  await h.putProduct('TEA-042', 100, 890, 'Breakfast tea');

  held = await h.placeOrder(
    orderBody(
      'tok_visa',
      [
        { sku: 'MUG-001', quantity: 2 },
        { sku: 'TEA-042', quantity: 1 },
      ],
      'cus_ada',
    ),
  );
  toCancel = await h.placeOrder(orderBody('tok_visa', [{ sku: 'TEA-042', quantity: 3 }], 'cus_grace'));
  declined = await h.placeOrder(orderBody('tok_chargeDeclined', [{ sku: 'MUG-001', quantity: 1 }], 'cus_grace'));
  await h.waitForStatus(declined.id, 'FAILED');
  for (const order of [held, toCancel]) {
    await h.waitForOrder(order.id, () => true);
    await h.waitForStatus(order.id, 'AWAITING_SHIPMENT');
  }
  // Both shipping jobs give up, and then the orders sit still past STUCK_AFTER_MS.
  const deadline = Date.now() + 20_000;
  while ((await h.service.queues.shipping.getFailedCount()) < 2) {
    if (Date.now() > deadline) throw new Error('the shipping jobs did not fail');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, STUCK_AFTER_MS + 300));

  if (available) browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

async function signedIn(options: { javaScriptEnabled?: boolean } = {}): Promise<BrowserContext> {
  return browser.newContext({
    httpCredentials: { username: 'operator', password: ADMIN_TOKEN },
    viewport: { width: 1280, height: 900 },
    // An operator elsewhere, with other habits: the page's times must not follow them.
    timezoneId: 'America/New_York',
    locale: 'en-US',
    ...options,
  });
}

/** Takes a screenshot and checks it is a real PNG of a sensible size. */
async function screenshot(page: Page, name: string): Promise<Buffer> {
  const png = await page.screenshot({ fullPage: true });
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  expect(width).toBe(1280);
  expect(height).toBeGreaterThanOrEqual(400);
  expect(png.length).toBeGreaterThan(20_000);
  const dir = join(ROOT, 'test-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.png`), png);
  return png;
}

const text = async (page: Page, selector: string) => (await page.locator(selector).first().textContent())?.trim();

describe.skipIf(!available)('the operations console at /admin in a browser', () => {
  it('shows orders by status, stuck orders and failed jobs, loading nothing from elsewhere', async () => {
    const context = await signedIn();
    try {
      const page = await context.newPage();
      const requested: string[] = [];
      page.on('request', (req) => requested.push(req.url()));
      const res = await page.goto(`${h.base}/admin`);
      expect(res?.status()).toBe(200);

      expect(await text(page, '[data-count="total"]')).toBe('3');
      expect(await text(page, '[data-count="AWAITING_SHIPMENT"]')).toBe('2');
      expect(await text(page, '[data-count="FAILED"]')).toBe('1');
      expect(await text(page, '[data-count="SHIPPED"]')).toBe('0');
      expect(await text(page, '[data-count="stuck"]')).toBe('2');
      expect(await text(page, '[data-failed="shipping"]')).toBe('2');
      expect(await text(page, '[data-failed="payment"]')).toBe('0');

      const body = await page.locator('main').innerText();
      expect(body).toContain('Stuck orders');
      expect(body).toContain('carrier unreachable');
      // Both stuck orders are listed; the declined one is at rest, so only under the latest orders.
      const stuckTable = page.locator('h2:has-text("Stuck orders") + table');
      await expect(stuckTable.locator('a', { hasText: held.id }).count()).resolves.toBe(1);
      await expect(stuckTable.locator('a', { hasText: toCancel.id }).count()).resolves.toBe(1);
      await expect(stuckTable.locator('a', { hasText: declined.id }).count()).resolves.toBe(0);

      // The stylesheet applied (badges are pills), and every request stayed on this service.
      // (Page functions are strings: this file is type-checked without the DOM's types.)
      const radius = await page.locator('.badge').first().evaluate('(el) => getComputedStyle(el).borderRadius');
      expect(radius).not.toBe('0px');
      expect(requested.length).toBeGreaterThanOrEqual(3);
      for (const url of requested) expect(new URL(url).origin).toBe(h.base);

      const png = await screenshot(page, 'console-home');
      // The README's picture is refreshed on request, so that a test run leaves the work tree as it was.
      if (process.env.UPDATE_SCREENSHOTS === '1') writeFileSync(join(ROOT, 'docs', 'console.png'), png);
    } finally {
      await context.close();
    }
  });

  it('refreshes the counts live while the page stays open', async () => {
    const context = await signedIn();
    try {
      const page = await context.newPage();
      await page.goto(`${h.base}/admin`);
      const before = Number(await text(page, '[data-count="total"]'));
      const counted = await text(page, '[data-refreshed]');
      expect(counted).toMatch(/^\d\d:\d\d:\d\d UTC$/);
      await h.placeOrder(orderBody('tok_chargeDeclined', [{ sku: 'MUG-001', quantity: 1 }], 'cus_live'));
      // No reload: the page's own script fetches the counts and updates them in place.
      await expect.poll(() => text(page, '[data-count="total"]'), { timeout: 15_000, interval: 100 }).toBe(String(before + 1));
      expect(page.url()).toBe(`${h.base}/admin`);
      // The time it was counted at keeps the server's format and zone, whatever the browser's.
      expect(await text(page, '[data-refreshed]')).toMatch(/^\d\d:\d\d:\d\d UTC$/);
    } finally {
      await context.close();
    }
  });

  it('reads without JavaScript', async () => {
    const context = await signedIn({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      await page.goto(`${h.base}/admin`);
      expect(await text(page, '[data-count="AWAITING_SHIPMENT"]')).toBe('2');
      await page.goto(`${h.base}/admin/console/orders/${held.id}`);
      await expect(page.locator('h1').innerText()).resolves.toContain(held.id);
      await expect(page.locator('main').innerText()).resolves.toContain('carrier unreachable');
    } finally {
      await context.close();
    }
  });

  it('finds a stuck order by its id, shows why it is stuck, and retries its failed job', async () => {
    const context = await signedIn();
    try {
      const page = await context.newPage();
      await page.goto(`${h.base}/admin`);
      await page.getByRole('searchbox').fill(held.id);
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL(`**/admin/console/orders/${held.id}`);

      const heading = await page.locator('h1').innerText();
      expect(heading).toContain(held.id);
      expect(heading).toContain('AWAITING_SHIPMENT');
      expect(heading).toContain('STUCK');

      const main = await page.locator('main').innerText();
      for (const fact of ['cus_ada', 'CAPTURED', 'MUG-001', 'TEA-042', '33.90 USD', 'Ada Lovelace']) expect(main).toContain(fact);
      // The whole timeline, oldest first, with the job that gave up on it.
      const timeline = page.locator('h2:has-text("Timeline") + table tbody tr td:nth-child(2)');
      await expect(timeline.allInnerTexts()).resolves.toEqual([
        'OrderPlaced',
        'PaymentRequested',
        'PaymentSucceeded',
        'InventoryReserved',
        'JobFailed',
      ]);
      // Its jobs, each with state and attempts; the shipping one failed with the carrier's error.
      const shipping = page.locator('table.jobs tr', { hasText: 'shipping' });
      const row = (await shipping.innerText()).replace(/\s+/g, ' ');
      expect(row).toContain('InventoryReserved');
      expect(row).toContain('failed');
      expect(row).toContain('2');
      expect(row).toContain('carrier unreachable');
      const payment = (await page.locator('table.jobs tr', { hasText: 'payment' }).first().innerText()).replace(/\s+/g, ' ');
      expect(payment).toContain('completed');
      // Each failed attempt, not only the last.
      const attempts = (await page.locator('table.attempts tbody').innerText()).replace(/\s+/g, ' ');
      expect(attempts).toMatch(/shipping InventoryReserved 1 .*carrier unreachable.* shipping InventoryReserved 2 /);
      await screenshot(page, 'console-order-stuck');

      // The carrier is back; the operator retries the job from the page.
      carrier.up = true;
      await shipping.getByRole('button', { name: 'Retry' }).click();
      await page.waitForURL(/done=retried/);
      await expect(page.locator('.notice.ok').innerText()).resolves.toContain('back in its queue');
      await expect(page.locator('tr.operator-action').first().innerText()).resolves.toMatch(
        /Operator retry\s+by admin\s+retried/,
      );

      // The message was said once: the address lost its code, and a reload does not say it again.
      expect(page.url()).not.toContain('done=');
      await h.waitForStatus(held.id, 'SHIPPED');
      await page.reload();
      await expect(page.locator('.notice.ok').count()).resolves.toBe(0);
      const after = await page.locator('h1').innerText();
      expect(after).toContain('SHIPPED');
      expect(after).not.toContain('STUCK');
      const retried = (await page.locator('table.jobs tr', { hasText: 'shipping' }).innerText()).replace(/\s+/g, ' ');
      expect(retried).toContain('completed');
      await expect(page.locator('h2:has-text("Messages sent") + table').innerText()).resolves.toContain('shipped');
      // A shipped order offers no cancel.
      await expect(page.getByRole('button', { name: 'Cancel order' }).count()).resolves.toBe(0);
      await expect(page.locator('main').innerText()).resolves.toContain('can no longer be cancelled');
      await screenshot(page, 'console-order-shipped');
    } finally {
      await context.close();
    }
  });

  it('finds a customer’s orders by customer id and cancels one through its form, as the API would', async () => {
    const context = await signedIn();
    try {
      const page = await context.newPage();
      await page.goto(`${h.base}/admin`);
      await page.getByRole('searchbox').fill('cus_grace');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL(/\/admin\/console\/orders\?customerId=cus_grace/);
      const listed = await page.locator('main table').innerText();
      expect(listed).toContain(toCancel.id);
      expect(listed).toContain(declined.id);
      expect(listed).not.toContain(held.id);
      await screenshot(page, 'console-customer-orders');

      await page.getByRole('link', { name: toCancel.id }).click();
      // The browser will not send the form until the confirmation is ticked.
      const before = page.url();
      await page.getByRole('button', { name: 'Cancel order' }).click();
      expect(page.url()).toBe(before);
      expect((await h.getOrder(toCancel.id)).status).not.toBe('CANCELLED');
      await page.getByRole('checkbox', { name: `Yes, cancel ${toCancel.id}` }).check();
      await page.getByRole('button', { name: 'Cancel order' }).click();
      await page.waitForURL(/done=cancelled/);
      // The cancel is on the timeline, with who did it.
      await expect(page.locator('tr.operator-action').first().innerText()).resolves.toMatch(
        /Operator cancel\s+by admin\s+cancelled/,
      );
      await expect(page.locator('.notice.ok').innerText()).resolves.toContain('The order is cancelled');
      await expect(page.locator('h1').innerText()).resolves.toContain('CANCELLED');

      // The same outcome as POST /orders/{id}/cancel: cancelled, refunded, told.
      const order = await h.waitForOrder(toCancel.id, (o) => o.payment.status === 'REFUNDED');
      expect(order).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_CANCELLED' });
      await page.reload();
      await expect(page.locator('h2:has-text("Timeline") + table').innerText()).resolves.toContain('Cancelled');
      await expect(page.getByRole('button', { name: 'Cancel order' }).count()).resolves.toBe(0);
      await screenshot(page, 'console-order-cancelled');

      // A failed order cannot be cancelled, by the API's rule; the form is not offered.
      await page.goto(`${h.base}/admin/console/orders/${declined.id}`);
      await expect(page.getByRole('button', { name: 'Cancel order' }).count()).resolves.toBe(0);
      expect((await h.request('POST', `/orders/${declined.id}/cancel`)).status).toBe(409);
    } finally {
      await context.close();
    }
  });

  it.each([
    ['without credentials', undefined],
    ['with a wrong password', { username: 'operator', password: 'not-the-token' }],
  ])('refuses a browser %s', async (_what, httpCredentials) => {
    const context = await browser.newContext(httpCredentials ? { httpCredentials } : {});
    try {
      const page = await context.newPage();
      // Headless Chromium answers a Basic challenge it cannot meet by failing the navigation.
      const navigation = await page.goto(`${h.base}/admin`).then(
        async (res) => ({ status: res?.status(), body: await res?.text(), error: undefined }),
        (error: Error) => ({ status: undefined, body: undefined, error: error.message }),
      );
      if (navigation.error) expect(navigation.error).toMatch(/ERR_INVALID_AUTH_CREDENTIALS/);
      else {
        expect(navigation.status).toBe(401);
        expect(navigation.body).not.toContain('Stuck orders');
      }
      const res = await context.request.get(`${h.base}/admin/console/orders/${held.id}`);
      expect(res.status()).toBe(401);
      expect(res.headers()['www-authenticate']).toMatch(/^Basic /);
    } finally {
      await context.close();
    }
  });
});
