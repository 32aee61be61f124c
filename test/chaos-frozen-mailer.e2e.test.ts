/**
 * Chaos: a worker frozen (SIGSTOP) in the middle of an SMTP send, for longer than its job's lock
 * and its email lease. Another worker takes the job and sends the message; when the first wakes,
 * it asks its lease right before the end of DATA, finds it lapsed, and abandons its copy, which the
 * server never keeps. Counted at a real SMTP receiver, by Message-ID: every message once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment } from './support/deployment.ts';
import { ADDRESS, ADMIN_TOKEN } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { placeOrderOver, putProductOver } from './support/processes.ts';
import { waitUntilSettled } from './support/settle.ts';
import { TestSmtpServer } from './support/smtp-server.ts';

const STOCK = { 'SKU-A': 50 };
const FROZEN_RECIPIENT = 'frozen@example.com';
const ORDERS = 6;

let deployment: Deployment;
let smtp: TestSmtpServer;
/** Resolved when the first send to FROZEN_RECIPIENT reaches RCPT TO; its reply waits for `stopped`. */
let midSend: () => void;
const reachedMidSend = new Promise<void>((resolve) => (midSend = resolve));
/** Resolved by the test once the sending worker is stopped: only then is RCPT TO answered. */
let frozenNow: () => void;
const stopped = new Promise<void>((resolve) => (frozenNow = resolve));
let held = false;

beforeAll(async () => {
  smtp = await TestSmtpServer.start({
    beforeRcptReply: async (address) => {
      if (address !== FROZEN_RECIPIENT || held) return;
      held = true;
      midSend();
      // The client is stopped while it waits for this reply; the reply then waits in its socket.
      await stopped;
    },
  });
  deployment = await startDeployment({
    name: 'frozen-mailer',
    queuePrefix: 'frozen',
    env: {
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Shop <orders@shop.example>',
      MAIL_LEASE_MS: '3000',
      JOB_LOCK_MS: '2000',
      JOB_STALLED_INTERVAL_MS: '500',
      JOB_BACKOFF_MS: '50',
      RELAY_SWEEP_MS: '200',
      STUCK_AFTER_MS: '20000',
      RECONCILE_INTERVAL_MS: '500',
    },
  });
  for (const [sku, stock] of Object.entries(STOCK))
    expect(await putProductOver(deployment.base, sku, stock, ADMIN_TOKEN)).toBe(201);
}, 60_000);

afterAll(async () => {
  for (const p of deployment?.processes ?? []) {
    if (p.child.pid) process.kill(p.child.pid, 'SIGCONT');
  }
  await deployment?.stop();
  await smtp?.down();
});

const orderWithEmail = (email: string, customerId: string) => ({
  customerId,
  email,
  items: [{ sku: 'SKU-A', quantity: 1 }],
  payment: { token: 'tok_visa' },
  shippingAddress: ADDRESS,
});

describe('chaos: a worker frozen mid-send', { timeout: 120_000 }, () => {
  it('sends each email once, counted at the SMTP receiver, when a worker is stopped past its lease in the middle of a send', async () => {
    // One worker only, so that it is the one caught mid-send.
    const frozen = await deployment.startProcess('worker');
    const { status } = await placeOrderOver(deployment.base, orderWithEmail(FROZEN_RECIPIENT, 'cus_frozen'));
    expect(status).toBe(201);
    await reachedMidSend;
    process.kill(frozen.child.pid!, 'SIGSTOP');
    frozenNow();

    // Another worker takes the job once the frozen one's lock lapses, and sends the message.
    await deployment.startProcess('worker');
    for (let i = 0; i < ORDERS - 1; i++) {
      expect((await placeOrderOver(deployment.base, orderWithEmail(`c${i}@example.com`, `cus_${i}`))).status).toBe(201);
    }
    const deadline = Date.now() + 60_000;
    while (smtp.received.filter((m) => m.to.includes(FROZEN_RECIPIENT)).length === 0) {
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(100);
    }
    // Longer than the lease, whatever the machine's speed: the frozen run's lease has lapsed.
    await sleep(3_000);
    process.kill(frozen.child.pid!, 'SIGCONT');

    await waitUntilSettled(deployment.db, deployment.queues, { timeoutMs: 60_000, owedMessages: true });
    await sleep(2_000); // anything the woken worker would still send arrives by now
    expect(await invariantViolations(deployment.db, { initialStock: STOCK })).toEqual([]);
    const ids = smtp.received.map((m) => m.parsed.messageId);
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(String(id), (counts.get(String(id)) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
    // Each order was confirmed and told it shipped: two messages each, the frozen one's included.
    expect(counts.size).toBe(ORDERS * 2);
    expect(frozen.logs.map((l) => l.msg)).toContain('email abandoned before its end: the lease lapsed; not sent');
  });
});
