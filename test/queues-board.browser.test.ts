/**
 * The Bull Board dashboard in a real headless Chromium: with the admin token as the Basic auth
 * password it shows every queue of the service and retries a failed job; a page on another site
 * cannot make that browser add a job; without credentials, or with wrong ones, the browser gets
 * nothing.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../src/queues/routing.ts';
import { browserAvailable, launchBrowser } from './support/browser.ts';
import { ADMIN_TOKEN, Harness } from './support/harness.ts';

const available = browserAvailable;

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  h = await Harness.start({ queues: ['payment'] });
  // A job whose payload cannot parse fails for good at once: something for the failed tab.
  await h.service.queues.payment.add('OrderPlaced', { broken: true } as never, { jobId: 'broken-job', attempts: 1 });
  const deadline = Date.now() + 10_000;
  while (((await h.service.queues.payment.getJobCounts('failed')).failed ?? 0) < 1) {
    if (Date.now() > deadline) throw new Error('the broken job did not fail');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (available) browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

describe.skipIf(!available)('Bull Board at /admin/queues in a browser', () => {
  it('shows every queue and a failed job with its error, read-only, loading nothing from another host', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: ADMIN_TOKEN } });
    const elsewhere: string[] = [];
    const problems: string[] = [];
    // Offline, as an operator's machine in an outage may be: anything asked of another host fails.
    await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => {
      elsewhere.push(route.request().url());
      return route.abort();
    });
    try {
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      const res = await page.goto(`${h.base}/admin/queues`);
      expect(res?.status()).toBe(200);
      await page.getByText('Order service queues').first().waitFor();
      for (const queue of QUEUE_NAMES) await page.getByText(queue, { exact: true }).first().waitFor();

      // The failed job's page shows its error, highlighted by the board's worker.
      await page.goto(`${h.base}/admin/queues/queue/payment/broken-job`);
      await page.getByText('broken-job').first().waitFor();
      await page
        .getByRole('tab', { name: /error/i })
        .or(page.getByRole('button', { name: /^error$/i }))
        .first()
        .click();
      await page
        .getByText(/invalid job data|expected/i)
        .first()
        .waitFor({ timeout: 15_000 });
      await page.screenshot({ path: 'test-results/queues-board-failed-job.png', fullPage: true });

      // Nothing to do here but look: the actions live on the console, with who did them.
      await page.goto(`${h.base}/admin/queues/queue/payment?status=failed`);
      await page.getByText('broken-job').first().waitFor();
      for (const name of [/retry/i, /clean/i, /add job/i, /pause/i, /empty/i, /obliterate/i, /duplicate/i, /edit/i, /promote/i]) {
        expect(await page.getByRole('button', { name }).count()).toBe(0);
        expect(await page.getByRole('menuitem', { name }).count()).toBe(0);
      }
      expect(elsewhere).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('refuses a job that a page on another site makes the admin’s browser add', async () => {
    // The attacker's page, on another origin (another port of this host), posts to the board with
    // a text/plain body (no CORS preflight) while the browser holds the admin's Basic credentials.
    const evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>cute cats</title><form method="post" enctype="text/plain"
        action="${h.base}/admin/queues/api/queues/notification/add"><input name='{"name":"OrderShipped","data":{"orderId":"ord_victim"},"x":"' value='"}'></form>
        <script>document.forms[0].submit()</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', () => resolve()));
    const evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: ADMIN_TOKEN } });
    try {
      const page = await context.newPage();
      // The admin is logged in to the board...
      expect((await page.goto(`${h.base}/admin/queues`))?.status()).toBe(200);
      const before = await h.service.queues.notification.getJobCounts();
      // ...and then visits the attacker's page, which submits the form to the board.
      const answer = page.waitForResponse((res) => res.url().includes('/notification/add'));
      await page.goto(evilUrl);
      const res = await answer;
      const sent = await res.request().allHeaders();
      expect(sent.authorization).toMatch(/^Basic /);
      expect(sent.origin).toBe(evilUrl.slice(0, -1));
      expect(res.status()).toBe(403);
      expect(await h.service.queues.notification.getJobCounts()).toEqual(before);
    } finally {
      await context.close();
      await new Promise((resolve) => evil.close(resolve));
    }
  });

  it.each([
    ['without credentials', undefined],
    ['with a wrong password', { username: 'admin', password: 'not-the-token' }],
  ])('refuses a browser %s', async (_what, httpCredentials) => {
    const context = await browser.newContext(httpCredentials ? { httpCredentials } : {});
    try {
      const page = await context.newPage();
      // Headless Chromium answers a Basic challenge it cannot meet by failing the navigation.
      const navigation = await page.goto(`${h.base}/admin/queues`).then(
        async (res) => ({ status: res?.status(), body: await res?.text(), error: undefined }),
        (error: Error) => ({ status: undefined, body: undefined, error: error.message }),
      );
      if (navigation.error) expect(navigation.error).toMatch(/ERR_INVALID_AUTH_CREDENTIALS/);
      else {
        expect(navigation.status).toBe(401);
        expect(navigation.body).not.toContain('Order service queues');
      }

      // Nor can the page's own API calls be made without the token.
      const api = await context.request.get(`${h.base}/admin/queues/api/queues`);
      expect(api.status()).toBe(401);
      expect(api.headers()['www-authenticate']).toMatch(/^Basic /);
    } finally {
      await context.close();
    }
  });
});
