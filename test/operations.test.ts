/**
 * Liveness and readiness against real outages (a redis-server killed and restarted, a database
 * gone), and request ids on every log line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { closeDatabase } from '../src/db/open.ts';
import { StorageUnavailableError } from '../src/db/errors.ts';
import { createApp } from '../src/server.ts';
import { ADMIN_TOKEN, API_KEY, Harness } from './support/harness.ts';
import { startRedisServer, type TestRedis } from './support/redis-server.ts';
import { startServiceProcess } from './support/processes.ts';
import { openTestStore, storeEnv } from './support/store.ts';

const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  // Last started, first stopped: the service before the Redis it uses.
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function waitForStatus(h: Harness, path: string, status: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let last: Awaited<ReturnType<Harness['request']>> | undefined;
  while (Date.now() < deadline) {
    last = await h.request('GET', path);
    if (last.status === status) return last;
    await sleep(100);
  }
  throw new Error(`${path} did not answer ${status} in ${timeoutMs} ms; last ${last?.status} ${last?.text}`);
}

function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** The API alone on a fresh store of the run's engine, without Redis, logging to memory. */
async function appOnFreshStore() {
  const dir = mkdtempSync(join(tmpdir(), 'orders-operations-'));
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  const db = await openTestStore(dir);
  const { logger, lines } = memoryLogger();
  const app = createApp({
    db,
    logger,
    adminToken: ADMIN_TOKEN,
    webhookSecret: 'unused-webhook-secret-0000',
    idempotencyTtlMs: 60_000,
    onCommit: () => {},
    apiKeys: [API_KEY],
  });
  return { db, app, lines };
}

describe('/healthz and /readyz', () => {
  it('/readyz answers 503 while Redis is down and 200 once it is back; /healthz stays 200', async () => {
    let redis: TestRedis = await startRedisServer();
    cleanup.push(() => redis.stop());
    const h = await Harness.start({ redisUrl: redis.url, queues: [] });
    cleanup.push(() => h.stop());

    // Ready once the service's connection to Redis is up.
    const ready = await waitForStatus(h, '/readyz', 200);
    expect(ready.json).toEqual({
      status: 'ready',
      clockOffsetMs: expect.any(Number),
      checks: { database: 'ok', redis: 'ok', workers: 'not used', relay: 'ok', outbox: 'ok', clock: 'ok', queuePrefix: 'ok' },
    });

    await redis.stop();
    const down = await waitForStatus(h, '/readyz', 503);
    expect(down.json).toEqual({
      status: 'unavailable',
      clockOffsetMs: expect.any(Number),
      checks: { database: 'ok', redis: 'down', workers: 'not used', relay: 'ok', outbox: 'ok', clock: 'ok', queuePrefix: 'ok' },
    });
    expect((await h.request('GET', '/healthz')).status).toBe(200);

    redis = await startRedisServer(redis.port);
    const back = await waitForStatus(h, '/readyz', 200);
    expect(back.json.checks.redis).toBe('ok');
    expect((await h.request('GET', '/healthz')).json).toEqual({ status: 'ok' });
  });

  it('/readyz answers 503 when the database cannot be read', async () => {
    const { db, app } = await appOnFreshStore();
    const ok = await app.request('/readyz');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      status: 'ready',
      checks: {
        database: 'ok',
        redis: 'not used',
        workers: 'not used',
        relay: 'not used',
        outbox: 'ok',
        clock: 'not used',
        queuePrefix: 'ok',
      },
    });
    await closeDatabase(db);
    const res = await app.request('/readyz');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ checks: { database: 'down' } });
    expect((await app.request('/healthz')).status).toBe(200);
  });
});

describe('/readyz after a storage failure', () => {
  it('is ready again as soon as a write succeeds, and not by its own probe alone', async () => {
    const { db, app } = await appOnFreshStore();
    // What a write on a full disk leaves on the connection (faults-storage.e2e fills a real one).
    db.connection.noteWriteFailure(new StorageUnavailableError('SQLITE_FULL', new Error('database or disk is full')));
    const checks = async () => {
      const res = await app.request('/readyz');
      return { code: res.status, ...((await res.json()) as object) };
    };
    expect(await checks()).toMatchObject({ code: 503, checks: { database: 'unwritable' } });
    // The probe's tiny write fits where an order's might not: it does not count as recovery.
    expect(await checks()).toMatchObject({ code: 503, checks: { database: 'unwritable' } });
    const put = await app.request('/admin/products/SKU-1', {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Mug', priceCents: 100, stock: 1 }),
    });
    expect(put.status).toBe(201);
    expect(await checks()).toMatchObject({ code: 200, checks: { database: 'ok' } });
  });
});

describe('a port that is taken', () => {
  it('stops the process with one line naming PORT, not a stack trace', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    cleanup.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'orders-port-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const started = startServiceProcess({
      ...(await storeEnv(dir)),
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: `port${port}`,
      PORT: String(port),
      ROLE: 'api',
    });
    const error = await started.then(
      () => new Error('started on a taken port'),
      (e: Error) => e,
    );
    const stderr = error.message.replace(/^service exited with 1 before it was ready: /, '');
    expect(error.message).toMatch(/^service exited with 1 /);
    expect(stderr).toBe(
      `PORT=${port}: 127.0.0.1:${port} is already in use by another process; stop it, or set PORT to a free port\n`,
    );
  });
});

describe('request ids in the logs', () => {
  it('puts the request id on the access line and on the error line of a failed request', async () => {
    const { db, app, lines } = await appOnFreshStore();
    await app.request('/orders/ord_x', { headers: { 'x-request-id': 'req-found-in-logs', authorization: `Bearer ${API_KEY}` } });
    expect(lines).toContainEqual(
      expect.objectContaining({ requestId: 'req-found-in-logs', msg: 'request', route: '/orders/:id', status: 404 }),
    );

    await closeDatabase(db); // a fault of ours, not the client's: a 500 and an error line
    const res = await app.request('/orders/ord_x', {
      headers: { 'x-request-id': 'req-failed', authorization: `Bearer ${API_KEY}` },
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ status: 500, requestId: 'req-failed' });
    const mine = lines.filter((l) => l.requestId === 'req-failed');
    expect(mine.map((l) => l.msg)).toEqual(['unhandled error', 'request']);
    expect(lines.every((l) => typeof l.requestId === 'string')).toBe(true);
  });
});
