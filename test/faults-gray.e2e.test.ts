/**
 * Gray failures, the quiet kind that production brings first: a provider that hangs, two
 * deployments on one queue prefix, a Redis frozen in place, and a job kept under an id that a
 * re-drive needs. After each, the invariants of DESIGN.md hold over every order.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { databaseIdentity } from '../src/db/service-meta.ts';
import { freePort } from '../src/redis-server/managed-redis.ts';
import { claimKey, PrefixTakenError } from '../src/queues/prefix-claim.ts';
import { QUEUE_NAMES, jobIdFor } from '../src/queues/routing.ts';
import { API_KEY, Harness, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { startServiceProcess } from './support/processes.ts';
import { startRedisServer, type TestRedis } from './support/redis-server.ts';
import { storeEnv } from './support/store.ts';

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
  it('delays no other order: fast and flaky orders behind dozens of hanging charges ship before those reach their deadline', {
    timeout: 120_000,
  }, async () => {
    // The deadline leaves the orders behind ample time to ship on a loaded machine: what is tested
    // is that they do not wait for the hanging charges, not how fast the machine is.
    const h = await start({ env: { PAYMENT_TIMEOUT_MS: '10000', PROVIDER_TIMEOUT_MS: '1000' } });
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
    for (const o of ended)
      expect(o).toMatchObject({ status: 'FAILED', reason: 'PAYMENT_TIMEOUT', payment: { status: 'REFUNDED' } });
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 1_000 } })).toEqual([]);
  });
});

describe('two deployments on one Redis and one queue prefix', () => {
  it('refuses to start a second database on a prefix another database holds, naming QUEUE_PREFIX', async () => {
    const first = await start({ queues: [] });
    const prefix = first.config.jobs.queuePrefix;
    await expect(start({ queues: [], env: { QUEUE_PREFIX: prefix } })).rejects.toThrow(PrefixTakenError);

    // As a real process: one line on stderr, exit code 1.
    const dir = mkdtempSync(join(tmpdir(), 'orders-other-'));
    try {
      const refused = startServiceProcess({
        ...(await storeEnv(dir)),
        REDIS_URL: first.redisUrl,
        QUEUE_PREFIX: prefix,
        PORT: '0',
      });
      await expect(refused).rejects.toThrow(new RegExp(`exited with 1 .*QUEUE_PREFIX=${prefix} belongs to another database`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('claims the prefix again after Redis lost its data', async () => {
    redis = await startRedisServer();
    const h = await start({ redisUrl: redis.url, queues: [] });
    const admin = new Redis(redis.url);
    try {
      await admin.flushall();
      expect(await admin.get(claimKey(h.config.jobs.queuePrefix))).toBeNull();
      await h.service.prefixClaim.check();
      expect(JSON.parse((await admin.get(claimKey(h.config.jobs.queuePrefix)))!)).toMatchObject({
        database: await databaseIdentity(h.db),
      });
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
      await admin.set(
        claimKey(h.config.jobs.queuePrefix),
        JSON.stringify({ database: 'someone-else', location: '/elsewhere.db', host: 'x' }),
      );
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
    const thief = new Worker('inventory', async () => 'nothing to do: order not found', {
      connection,
      prefix: h.config.jobs.queuePrefix,
    });
    const inventory = new Queue('inventory', { connection, prefix: h.config.jobs.queuePrefix });
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
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 5 } })).toEqual([]);
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
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 10 } })).toEqual([]);
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
    expect(messages.map((m: { kind: string }) => m.kind).sort()).toEqual(['order_confirmed', 'shipped']);
  });
});

describe('clients that vanish or trickle', () => {
  /** Opens a raw connection and sends the head of a POST /orders that promises `length` bytes of body. */
  async function openUpload(h: Harness, length: number): Promise<Socket> {
    const url = new URL(h.base);
    const socket = connect(Number(url.port), url.hostname);
    await once(socket, 'connect');
    socket.write(
      `POST /orders HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${API_KEY}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${length}\r\n\r\n{"customerId":`,
    );
    return socket;
  }

  it('a client that aborts mid-body is not a server error', async () => {
    const h = await start({ queues: [] });
    const before = await h.rowCounts();
    const socket = await openUpload(h, 1_000);
    await sleep(100);
    socket.destroy();
    await sleep(300);
    const metrics = (await h.request('GET', '/metrics')).text;
    expect(metrics).not.toMatch(/orders_http_request_duration_seconds_count\{[^}]*status="500"/);
    expect(metrics).toMatch(/orders_http_request_duration_seconds_count\{method="POST",route="[^"]*",status="499"\} 1/);
    expect(await h.rowCounts()).toEqual(before);
  });

  it('a body that trickles in is cut off after HTTP_REQUEST_TIMEOUT_MS', async () => {
    const h = await start({ queues: [], env: { HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000' } });
    const socket = await openUpload(h, 1_000);
    socket.on('error', () => {}); // EPIPE once the server has hung up
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const trickle = setInterval(() => socket.writable && socket.write(' '), 200);
    try {
      const cutOff = await Promise.race([closed.then(() => true), sleep(8_000).then(() => false)]);
      expect(cutOff).toBe(true);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });
});

describe('stopping a worker while Redis is down', () => {
  it('does not wait out the grace period for jobs it does not have, and says what happened', async () => {
    redis = await startRedisServer();
    const dir = mkdtempSync(join(tmpdir(), 'orders-stop-'));
    try {
      const worker = await startServiceProcess({
        ...(await storeEnv(dir)),
        REDIS_URL: redis.url,
        QUEUE_PREFIX: 'stopping',
        ROLE: 'worker',
        SHUTDOWN_GRACE_MS: '20000',
      });
      await redis.stop();
      await sleep(300);
      const started = performance.now();
      expect(await worker.kill('SIGTERM')).toBe(0);
      expect(performance.now() - started).toBeLessThan(15_000);
      const said = worker.logs.map((l) => String(l.msg));
      expect(said).toContain('stopping workers: no job running');
      expect(said.some((m) => m.includes('active jobs did not finish'))).toBe(false);
      expect(said).toContain('stopped cleanly');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a worker that dies mid-job', () => {
  it('has its job run again by another worker within JOB_LOCK_MS + JOB_STALLED_INTERVAL_MS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orders-stall-'));
    const env = {
      ...(await storeEnv(dir)),
      QUEUE_PREFIX: `stall${Date.now()}`,
      JOB_LOCK_MS: '2000',
      JOB_STALLED_INTERVAL_MS: '500',
    };
    try {
      const dying = await startServiceProcess({
        ...env,
        REDIS_URL: inject('redisUrl'),
        ROLE: 'worker',
        PAYMENT_LATENCY_MS: '60000',
      });
      const h = await start({ queues: [], env });
      await h.putProduct('SKU-1', 5);
      const order = await h.placeOrder();
      await h.waitForStatus(order.id, 'PAYMENT_PENDING'); // its charge hangs in the dying process
      await dying.kill('SIGKILL');
      const killedAt = performance.now();
      h.startWorkers(QUEUE_NAMES);
      await h.waitForStatus(order.id, 'SHIPPED');
      // The lock runs out at most JOB_LOCK_MS after the kill; the next check comes within the interval.
      expect(performance.now() - killedAt).toBeLessThan(2_000 + 500 + 2_000);
      await h.settle();
      expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 5 } })).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a wrong REDIS_URL', () => {
  it('is reported with the address and then with backoff, not ten times a second', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orders-wrong-redis-'));
    try {
      const nobody = await freePort();
      const service = await startServiceProcess({
        ...(await storeEnv(dir)),
        REDIS_URL: `redis://127.0.0.1:${nobody}`,
        QUEUE_PREFIX: 'wrongredis',
        PORT: '0',
      });
      await sleep(4_000);
      await service.kill('SIGKILL');
      const warnings = service.logs.filter((l) => (l.level as number) >= 40 && !/ADMIN_TOKEN|WEBHOOK_SECRET/.test(String(l.msg)));
      expect(warnings.some((l) => String(l.redis ?? '').includes(String(nobody)))).toBe(true);
      expect(warnings.length).toBeLessThan(25);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
