/**
 * Chaos: a worker host whose clock runs 40 s ahead. The service runs as real processes (one API,
 * two workers), one of the workers under libfaketime (`FAKETIME=+40s`: every clock read of that
 * process is 40 s ahead, as on a host whose NTP broke). Deadlines, "stuck for" and timeline times
 * are read on one clock, Redis's: no order fails its payment for the skew, no timeline goes
 * backwards, and the skewed process says so at start and in /readyz.
 *
 * Needs Debian's `faketime` package (libfaketime); skipped without it unless REQUIRE_FAKETIME=1,
 * as CI sets.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment } from './support/deployment.ts';
import { ADMIN_TOKEN, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { placeOrderOver, putProductOver, type ServiceProcess } from './support/processes.ts';
import { waitUntilSettled } from './support/settle.ts';
import { sqlRows } from './support/store.ts';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const available = existsSync(LIBFAKETIME);
if (!available && process.env.REQUIRE_FAKETIME === '1') throw new Error(`${LIBFAKETIME} missing: apt-get install faketime`);

const AHEAD_S = 40;
const ORDERS = 100;
const STOCK = { 'SKU-A': ORDERS };

let deployment: Deployment;
let fast: ServiceProcess;

beforeAll(async () => {
  if (!available) return;
  deployment = await startDeployment({
    name: 'fast-clock',
    queuePrefix: 'fastclock',
    env: {
      PAYMENT_TIMEOUT_MS: '30000',
      PAYMENT_LATENCY_MS: '20',
      JOB_BACKOFF_MS: '50',
      RELAY_SWEEP_MS: '200',
      STUCK_AFTER_MS: '20000',
      RECONCILE_INTERVAL_MS: '500',
    },
  });
  await deployment.startProcess('worker');
  fast = await deployment.startProcess('worker', {
    METRICS_PORT: '0',
    LD_PRELOAD: LIBFAKETIME,
    FAKETIME: `+${AHEAD_S}s`,
    // Timers run on the monotonic clock: only the wall clock is wrong on such a host.
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  });
  for (const [sku, stock] of Object.entries(STOCK))
    expect(await putProductOver(deployment.base, sku, stock, ADMIN_TOKEN)).toBe(201);
}, 60_000);

afterAll(() => deployment?.stop());

describe.runIf(available)('chaos: a worker host with a fast clock', { timeout: 180_000 }, () => {
  it('fails no payment for the skew, keeps every timeline in order, and says the clock is off', async () => {
    // The skewed process says so at start, and in /readyz.
    const warning = fast.logs.find((l) => String(l.msg).startsWith("this host's clock is"));
    expect(warning?.msg).toMatch(/ahead of Redis's/);
    const ready = await fetch(`http://127.0.0.1:${fast.metricsPort}/readyz`);
    const body = (await ready.json()) as { clockOffsetMs: number; checks: Record<string, string> };
    expect(body.checks.clock).toBe('skewed');
    expect(body.clockOffsetMs).toBeLessThan(-(AHEAD_S - 5) * 1000);

    await Promise.all(
      Array.from({ length: 10 }, async (_, client) => {
        for (let i = client; i < ORDERS; i += 10) {
          const { status } = await placeOrderOver(
            deployment.base,
            orderBody('tok_visa', [{ sku: 'SKU-A', quantity: 1 }], `cus_${i}`),
          );
          expect(status).toBe(201);
        }
      }),
    );
    // Settled means every order at rest and no job waiting: the payment deadlines are delayed
    // jobs that the fast worker takes early, finds not yet due on Redis's clock and puts back.
    await waitUntilSettled(deployment.db, deployment.queues, { timeoutMs: 90_000, owedMessages: true });
    expect(await invariantViolations(deployment.db, { initialStock: STOCK })).toEqual([]);
    const outcomes = await sqlRows<{ status: string; n: number }>(
      deployment.db,
      'SELECT status, count(*) AS n FROM orders GROUP BY status',
    );
    expect(outcomes.map((o) => ({ status: o.status, n: Number(o.n) }))).toEqual([{ status: 'SHIPPED', n: ORDERS }]);

    // Every timeline's times only move forward, whichever process wrote each entry.
    const events = await sqlRows<{ orderId: string; at: number }>(
      deployment.db,
      'SELECT order_id AS "orderId", at FROM order_events ORDER BY order_id, id',
    );
    const backwards: string[] = [];
    for (let i = 1; i < events.length; i++) {
      const [before, after] = [events[i - 1]!, events[i]!];
      if (before.orderId === after.orderId && Number(after.at) < Number(before.at) - 50) backwards.push(after.orderId);
    }
    expect(backwards).toEqual([]);
  });
});
