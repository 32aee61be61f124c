/**
 * Customer messages by email, end to end: the real service on its private Redis, emailing a real
 * SMTP server that runs in the test (with a login), and reading what arrived with mailparser.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ParsedMail } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { duplicateJobs } from './support/duplicate-jobs.ts';
import { Harness, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { sqlRow } from './support/store.ts';
import { TestSmtpServer } from './support/smtp-server.ts';

const MAIL_FROM = 'Analytical Shop <orders@shop.example>';

let h: Harness | undefined;
let smtp: TestSmtpServer | undefined;

afterEach(async () => {
  await h?.stop();
  await smtp?.down();
  h = undefined;
  smtp = undefined;
});

async function start(server: TestSmtpServer, options: Parameters<typeof Harness.start>[0] = {}): Promise<Harness> {
  smtp = server;
  h = await Harness.start({ ...options, env: { SMTP_URL: server.url, MAIL_FROM, ...options.env } });
  return h;
}

const withEmail = (email: string, token = 'tok_visa') => ({ ...orderBody(token), email });

/** The ledger's record of one order's messages: kind and channel. */
async function ledger(h: Harness, orderId: string): Promise<string[]> {
  const { messages } = (await h.admin('GET', `/sandbox/notifications?orderId=${orderId}`)).json;
  return messages.map((m: { kind: string; channel: string }) => `${m.kind}/${m.channel}`).sort();
}

async function waitForMail(server: TestSmtpServer, orderId: string, count: number, timeoutMs = 20_000): Promise<ParsedMail[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.forOrder(orderId).length >= count) return server.forOrder(orderId);
    await sleep(20);
  }
  throw new Error(`${orderId}: ${server.forOrder(orderId).length} of ${count} emails arrived`);
}

const kindOf = (mail: ParsedMail) => String(mail.headers.get('x-message-kind'));

describe('email over SMTP', () => {
  it('emails an order exactly the messages it owes, each once, even when every notification job runs twice', async () => {
    const server = await TestSmtpServer.start();
    // No notification worker yet: its jobs pile up, then each is delivered twice.
    const h = await start(server, { queues: ['payment', 'inventory', 'shipping', 'refund'] });
    await h.putProduct('SKU-1', 5, 1_250);
    const placed = await h.placeOrder({ ...withEmail('ada@example.com'), items: [{ sku: 'SKU-1', quantity: 2 }] });
    const silent = await h.placeOrder(orderBody());
    expect(placed.email).toBe('ada@example.com');
    expect(silent.email).toBeNull();

    const shipped = await h.waitForStatus(placed.id, 'SHIPPED');
    await h.waitForStatus(silent.id, 'SHIPPED');
    expect((await h.deliver(shipped.shipment!.trackingNumber)).status).toBe(200);
    await h.service.relay.flush();
    const notification = [h.service.queues.notification];
    expect(await duplicateJobs(notification, '1', new Set())).toBe(5);
    // Two worker processes' worth, so that the copies run beside the originals.
    h.startWorkers(['notification']);
    h.startWorkers(['notification']);
    await h.settle();
    // A copy that found its twin sending waits a moment in the delayed set: let every copy finish.
    const deadline = Date.now() + 20_000;
    while ((await h.service.queues.notification.getDelayedCount()) > 0 && Date.now() < deadline) {
      await sleep(50);
    }
    await h.settle();
    const done = await h.service.queues.notification.getJobs(['completed']);
    expect(done).toHaveLength(10);

    const mails = await waitForMail(server, placed.id, 3);
    expect(server.forOrder(placed.id).map(kindOf).sort()).toEqual(['delivered', 'order_confirmed', 'shipped']);
    for (const mail of mails) {
      const kind = kindOf(mail);
      expect(mail.messageId).toBe(`<${placed.id}.${kind}@shop.example>`);
      expect(mail.subject).toContain(placed.id);
      expect(mail.from?.value).toEqual([{ address: 'orders@shop.example', name: 'Analytical Shop' }]);
      expect(mail.to).toMatchObject({ value: [{ address: 'ada@example.com' }] });
      expect(mail.text).toContain('Hello Ada Lovelace,');
      expect(mail.html).toContain('<p>Hello Ada Lovelace,</p>');
    }
    const byKind = Object.fromEntries(mails.map((m) => [kindOf(m), m]));
    expect(byKind.order_confirmed!.subject).toBe(`Order ${placed.id} confirmed`);
    expect(byKind.order_confirmed!.text).toContain('2 x SKU-1  25.00 USD');
    expect(byKind.shipped!.text).toContain(`Tracking number: ${shipped.shipment!.trackingNumber}`);
    expect(byKind.delivered!.subject).toBe(`Order ${placed.id} was delivered`);

    // The ledger records what was sent and how; the order without an address stayed in the sandbox.
    expect(await ledger(h, placed.id)).toEqual(['delivered/smtp', 'order_confirmed/smtp', 'shipped/smtp']);
    expect(await ledger(h, silent.id)).toEqual(['order_confirmed/email', 'shipped/email']);
    expect(server.received.every((m) => m.to.join() === 'ada@example.com')).toBe(true);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 5 } })).toEqual([]);
  });

  it('emails through a local relay that asks for no login (SMTP_URL without credentials)', async () => {
    const server = await TestSmtpServer.start({ login: false });
    expect(server.url).toMatch(/^smtp:\/\/127\.0\.0\.1:\d+$/);
    const h = await start(server);
    await h.putProduct('SKU-1', 5);
    const placed = await h.placeOrder(withEmail('ada@example.com'));
    await h.waitForStatus(placed.id, 'SHIPPED');
    const mails = await waitForMail(server, placed.id, 2);
    expect(mails.map(kindOf).sort()).toEqual(['order_confirmed', 'shipped']);
    await h.settle();
    expect(await ledger(h, placed.id)).toEqual(['order_confirmed/smtp', 'shipped/smtp']);
  });

  it('retries while the mail server is down, and the emails arrive once it is up', async () => {
    const server = await TestSmtpServer.start({ up: false });
    const h = await start(server);
    await h.putProduct('SKU-1', 5);
    const placed = await h.placeOrder(withEmail('ada@example.com'));
    await h.waitForStatus(placed.id, 'SHIPPED');

    // Each message's job has failed at least twice against the closed port.
    const retried = async () => {
      const jobs = await h.service.queues.notification.getJobs(['delayed', 'waiting', 'active', 'completed', 'failed']);
      return jobs.filter((j) => j.data.orderId === placed.id && j.attemptsMade >= 2).length;
    };
    const deadline = Date.now() + 20_000;
    while ((await retried()) < 2 && Date.now() < deadline) await sleep(20);
    expect(await retried()).toBe(2);
    expect(await ledger(h, placed.id)).toEqual([]);

    await server.up();
    const mails = await waitForMail(server, placed.id, 2);
    expect(mails.map(kindOf).sort()).toEqual(['order_confirmed', 'shipped']);
    await h.settle();
    expect(await ledger(h, placed.id)).toEqual(['order_confirmed/smtp', 'shipped/smtp']);
    const failed = await h.service.queues.notification.getJobs(['failed']);
    expect(failed).toEqual([]);
    expect((await h.events(placed.id)).map((e) => e.type)).not.toContain('NotificationRefused');
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 5 } })).toEqual([]);
  });

  it('puts a permanent refusal (550) on the timeline and does not try that message again', async () => {
    const server = await TestSmtpServer.start({
      refuse: (address) => (address === 'gone@example.com' ? { code: 550, message: 'No such mailbox here' } : undefined),
    });
    const h = await start(server, { env: { STUCK_AFTER_MS: '200' } });
    await h.putProduct('SKU-1', 5);
    const refused = await h.placeOrder(withEmail('gone@example.com'));
    const welcome = await h.placeOrder(withEmail('ada@example.com'));
    await h.waitForStatus(refused.id, 'SHIPPED');
    await h.waitForStatus(welcome.id, 'SHIPPED');
    await h.settle();
    await waitForMail(server, welcome.id, 2);

    const refusals = (await h.events(refused.id)).filter((e) => e.type === 'NotificationRefused');
    expect(
      refusals
        .map((e) => e.data)
        .sort((a, b) => String((a as { kind: string }).kind).localeCompare((b as { kind: string }).kind)),
    ).toEqual([
      { kind: 'order_confirmed', code: 550, reason: expect.stringContaining('No such mailbox here') },
      { kind: 'shipped', code: 550, reason: expect.stringContaining('No such mailbox here') },
    ]);
    expect(refusals.every((e) => e.from === 'SHIPPED' || e.from === 'AWAITING_SHIPMENT')).toBe(true);
    expect(server.forOrder(refused.id)).toEqual([]);
    expect(await ledger(h, refused.id)).toEqual([]);

    // One run each, ended as done: not failed, not retried.
    const jobs = (await h.service.queues.notification.getJobs(['completed', 'failed', 'delayed', 'waiting'])).filter(
      (j) => j.data.orderId === refused.id,
    );
    expect(jobs.map((j) => [j.name, j.attemptsMade, j.finishedOn !== undefined, j.failedReason ?? null]).sort()).toEqual([
      ['InventoryReserved', 1, true, null],
      ['ShipmentCreated', 1, true, null],
    ]);
    expect(jobs.map((j) => j.returnvalue).sort()).toEqual([
      'order_confirmed refused by the mail server (550)',
      'shipped refused by the mail server (550)',
    ]);

    // The reconciler counts a refused message as settled, not as owed.
    await sleep(300);
    expect(await h.reconcile()).toEqual([]);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 5 } })).toEqual([]);
  });
});

describe('the email of POST /orders', () => {
  it.each([
    ['not an address', 'ada-at-example.com'],
    ['an address of 255 characters', `${'a'.repeat(64)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.eee.com`],
    ['an address with a line break (a header injection)', 'ada@example.com\r\nBcc: all@example.com'],
    ['a number', 42],
    ['empty', ''],
  ])('refuses an email that is %s with a 400 naming the field, and writes nothing', async (_what, email) => {
    const server = await TestSmtpServer.start();
    const h = await start(server, { queues: [] });
    await h.putProduct('SKU-1', 5);
    const before = await h.rowCounts();
    const res = await h.request('POST', '/orders', { ...orderBody(), email });
    expect(res.status, res.text).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.json.errors).toEqual([expect.objectContaining({ field: 'email' })]);
    expect(await h.rowCounts()).toEqual(before);
  });

  it('keeps the address on the order and shows it when the order is read', async () => {
    const server = await TestSmtpServer.start();
    const h = await start(server, { queues: [] });
    await h.putProduct('SKU-1', 5);
    const placed = await h.placeOrder(withEmail('ada.lovelace+orders@example.co.uk'));
    expect((await h.getOrder(placed.id)).email).toBe('ada.lovelace+orders@example.co.uk');
    const row = await sqlRow<{ email: string }>(h.db, 'SELECT email FROM orders WHERE id = ?', placed.id);
    expect(row?.email).toBe('ada.lovelace+orders@example.co.uk');
  });
});
