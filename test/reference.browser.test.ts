/**
 * The API reference at /docs in a real headless Chromium with the network unplugged: every
 * request to anything but the service is aborted, and the page still renders every operation of
 * /openapi.json, without a Content-Security-Policy violation.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from './support/browser.ts';
import { Harness } from './support/harness.ts';

const available = browserAvailable;

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  h = await Harness.start({ queues: [] });
  if (available) browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

describe.skipIf(!available)('the API reference at /docs in a browser without network', () => {
  it('renders every operation of the description, having asked nothing of any other host', async () => {
    const doc = (await h.request('GET', '/openapi.json')).json;
    const operations = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap((ops) =>
      Object.values(ops).map((op) => op.operationId),
    );
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const elsewhere: string[] = [];
      const served: string[] = [];
      const origin = new URL(h.base).origin;
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('data:') || new URL(url).origin === origin) {
          served.push(url);
          return route.continue();
        }
        elsewhere.push(url);
        return route.abort('internetdisconnected');
      });
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));

      const res = await page.goto(`${h.base}/docs`);
      expect(res?.status()).toBe(200);
      await page.locator('.swagger-ui .info .title').getByText('Order service').waitFor();
      // Every operation is on the page, by its path and its id.
      for (const id of operations)
        await page.locator(`.opblock .opblock-summary-operation-id`, { hasText: new RegExp(`^${id}$`) }).waitFor();
      await expect(page.locator('.opblock').count()).resolves.toBe(operations.length);

      // Opening an operation shows its description and responses.
      await page.locator('.opblock-summary', { hasText: 'placeOrder' }).click();
      await page.locator('.opblock-body').getByText('Prices come from the catalog.').first().waitFor();

      expect(elsewhere).toEqual([]);
      expect(served.some((url) => url.endsWith('/openapi.json'))).toBe(true);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
