/**
 * Gray failures, the quiet kind that production brings first: a provider that hangs, two
 * deployments on one queue prefix, a Redis frozen in place, and a job kept under an id that a
 * re-drive needs. After each, the invariants of DESIGN.md hold over every order.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseIdentity } from '../src/db/service-meta.ts';
import { claimKey, PrefixTakenError } from '../src/prefix-claim.ts';
import { jobIdFor } from '../src/queues/routing.ts';
import { Harness, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { startServiceProcess } from './support/processes.ts';
import { startRedisServer, type TestRedis } from './support/redis-server.ts';

const harnesses: Harness[] = [];
let redis: TestRedis | undefined;

afterEach(async () => {
  if (redis?.process.signalCode === null) redis.process.kill('SIGCONT');
  await Promise.allSettled(harnesses.splice(0).map((h) => h.stop()));
  await redis?.stop();
  redis = undefined;
});

async function start(options: Parameters<typeof Harness.start>[0] = {}): Promise<Harness> {
  const h = await Harness.start(options);
  harnesses.push(h);
  return h;
}

describe('a payment provider that hangs', () => {
  it('delays no other order: fast and flaky orders behind dozens of hanging charges ship before those reach their deadline', async () => {
    const h = await start({ env: { PAYMENT_TIMEOUT_MS: '4000', PROVIDER_TIMEOUT_MS: '1000' } });
    await h.putProduct('SKU-1', 1_000);
    const hanging = await Promise.all(Array.from({ length: 40 }, () => h.placeOrder(orderBody('tok_slow'))));
    await sleep(200); // every hanging charge has taken its slot
    const behind = await Promise.all([
      ...Array.from({ length: 5 }, () => h.placeOrder(orderBody('tok_visa'))),
      ...Array.from({ length: 5 }, () => h.placeOrder(orderBody('tok_flaky'))),
    ]);
    for (const o of behind) await h.waitForStatus(o.id, 'SHIPPED', 30_000);
    // The hanging charges are still waiting on the gateway: nothing behind them waited for them.
    const meanwhile = await Promise.all(hanging.map((o) => h.getOrder(o.id)));
    expect(meanwhile.map((o) => o.status)).toEqual(hanging.map(() => 'PAYMENT_PENDING'));

    // Each hanging charge fails at its deadline, and its late capture is refunded once.
    await h.settle(60_000);
    const ended = await Promise.all(hanging.map((o) => h.getOrder(o.id)));
    for (const o of ended) expect(o).toMatchObject({ status: 'FAILED', reason: 'PAYMENT_TIMEOUT', payment: { status: 'REFUNDED' } });
    expect(invariantViolations(h.db, { initialStock: { 'SKU-1': 1_000 } })).toEqual([]);
  });
});

describe('two deployments on one Redis and one queue prefix', () => {
  it('refuses to start a second database on a prefix another database holds, naming QUEUE_PREFIX', async () => {
    const first = await start({ queues: [] });
    const prefix = first.config.queuePrefix;
    await expect(start({ queues: [], env: { QUEUE_PREFIX: prefix } })).rejects.toThrow(PrefixTakenError);

    // As a real process: one line on stderr, exit code 1.
    const refused = startServiceProcess({
      DATABASE_PATH: `${first.config.databasePath}.other`,
      REDIS_URL: first.redisUrl,
      QUEUE_PREFIX: prefix,
      PORT: '0',
    });
    await expect(refused).rejects.toThrow(new RegExp(`exited with 1 .*QUEUE_PREFIX=${prefix} belongs to another database`));
  });

  it('claims the prefix again after Redis lost its data', async () => {
    redis = await startRedisServer();
    const h = await start({ redisUrl: redis.url, queues: [] });
    const admin = new Redis(redis.url);
    try {
      await admin.flushall();
      expect(await admin.get(claimKey(h.config.queuePrefix))).toBeNull();
      await h.service.prefixClaim.check();
      expect(JSON.parse((await admin.get(claimKey(h.config.queuePrefix)))!)).toMatchObject({ database: databaseIdentity(h.db) });
    } finally {
      await admin.quit();
    }
  });

  it('fails a job for an order this database does not know, loudly, instead of completing it as nothing to do', async () => {
    const h = await start({ queues: ['payment'] });
    const job = await h.service.queues.payment.add('OrderPlaced', { orderId: 'ord_from_another_deployment', outboxId: 1 });
    for (let i = 0; i < 200 && (await job.getState()) !== 'failed'; i++) await sleep(25);
    expect(await job.getState()).toBe('failed');
    const failed = await h.service.queues.payment.getJob(job.id!);
    expect(failed?.failedReason).toMatch(/not in this database: another deployment uses queue prefix/);
    expect(failed?.attemptsMade).toBe(1); // not retried ten times
    const metrics = (await h.request('GET', '/metrics')).text;
    expect(metrics).toMatch(/orders_foreign_jobs_total\{queue="payment"\} 1/);
  });

  it('a prefix held by another database shows on /readyz and in the metrics', async () => {
    redis = await startRedisServer();
    const h = await start({ redisUrl: redis.url, queues: [] });
    const admin = new Redis(redis.url);
    try {
      await admin.set(claimKey(h.config.queuePrefix), JSON.stringify({ database: 'someone-else', location: '/elsewhere.db', host: 'x' }));
      await h.service.prefixClaim.check();
      const ready = await h.request('GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.json.checks.queuePrefix).toBe('conflict');
      expect((await h.request('GET', '/metrics')).text).toMatch(/orders_queue_prefix_conflict 1/);
    } finally {
      await admin.quit();
    }
  });
});

describe('a re-drive', () => {
  it('reaches a worker even when a completed job still holds its id', async () => {
    redis = await startRedisServer();
    const h = await start({ redisUrl: redis.url, queues: ['payment', 'payment-deadline'], env: { STUCK_AFTER_MS: '300' } });
    await h.putProduct('SKU-1', 5);
    const order = await h.placeOrder();
    await h.waitForStatus(order.id, 'PAID');
    await h.service.relay.flush();

    // Someone else's worker on the same prefix takes the inventory job and completes it, doing nothing.
    const jobId = jobIdFor(order.id, 'PaymentSucceeded', 'inventory');
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const thief = new Worker('inventory', async () => 'nothing to do: order not found', { connection, prefix: h.config.queuePrefix });
    const inventory = new Queue('inventory', { connection, prefix: h.config.queuePrefix });
    try {
      for (let i = 0; i < 200 && (await inventory.getJobState(jobId)) !== 'completed'; i++) await sleep(25);
      expect(await inventory.getJobState(jobId)).toBe('completed');
      await thief.close();

      h.startWorkers(['inventory', 'shipping', 'notification', 'refund']);
      await sleep(350);
      expect((await h.reconcile()).map((r) => r.orderId)).toEqual([order.id]);
      await h.waitForStatus(order.id, 'SHIPPED');
    } finally {
      await thief.close();
      await inventory.close();
      await connection.quit();
    }
    await h.settle();
    expect(invariantViolations(h.db, { initialStock: { 'SKU-1': 5 } })).toEqual([]);
  });
});

describe('a Redis frozen in place (SIGSTOP)', () => {
  it('holds no HTTP answer for more than a few seconds, keeps taking orders, and moves them once it thaws', async () => {
    redis = await startRedisServer();
    const h = await start({ redisUrl: redis.url, env: { REDIS_COMMAND_TIMEOUT_MS: '1500' } });
    await h.putProduct('SKU-1', 10);
    redis.process.kill('SIGSTOP');
    try {
      const timed = async (path: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}) => {
        const started = performance.now();
        const res = await h.request(method, path, body, headers);
        return { ...res, ms: performance.now() - started };
      };
      const auth = { authorization: 'Bearer test-admin-token-0123456789' };
      const answers = await Promise.all([
        timed('/metrics'),
        timed('/readyz'),
        timed('/admin/queues/api/queues', 'GET', undefined, auth),
        timed('/orders', 'POST', orderBody()),
      ]);
      for (const a of answers) expect(a.ms).toBeLessThan(5_000);
      const [metrics, ready, board, placed] = answers;
      expect(metrics!.status).toBe(200);
      expect(metrics!.text).toContain('orders_by_status');
      expect(ready!.status).toBe(503);
      expect(ready!.json.checks.redis).toBe('down');
      expect(board!.status).toBeGreaterThanOrEqual(500);
      expect(placed!.status).toBe(201);

      redis.process.kill('SIGCONT');
      await h.waitForStatus(placed!.json.id, 'SHIPPED', 30_000);
    } finally {
      redis.process.kill('SIGCONT');
    }
    await h.settle();
    expect(invariantViolations(h.db, { initialStock: { 'SKU-1': 10 } })).toEqual([]);
  });
});

describe('the notification service', () => {
  it('sends nothing for a message the order does not call for (a Cancelled job for a shipped order)', async () => {
    const h = await start();
    await h.putProduct('SKU-1', 5);
    const order = await h.placeOrder();
    await h.waitForStatus(order.id, 'SHIPPED');
    await h.settle();
    const job = await h.service.queues.notification.add('Cancelled', { orderId: order.id, outboxId: 0 });
    for (let i = 0; i < 200 && (await job.getState()) !== 'completed'; i++) await sleep(25);
    expect(await job.getState()).toBe('completed');
    const messages = (await h.admin('GET', `/sandbox/notifications?orderId=${order.id}`)).json.messages;
    expect(messages.map((m: { kind: string }) => m.kind)).toEqual(['shipped']);
  });
});
