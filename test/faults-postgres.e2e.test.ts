/**
 * PostgreSQL failing under a running service: a server that is down (crashed) or frozen (connections
 * open, nothing answers). Requests get 503 with Retry-After in bounded time, /readyz says the
 * database is down, and the service, its workers and its relay come back by themselves once the
 * server does: nothing accepted is lost and every invariant holds. A service pointed at a database
 * it cannot open exits with one line saying why.
 *
 * PostgreSQL only: each test takes down a server of its own, which only the postgres engine has.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { closeDatabase } from '../src/db/open.ts';
import type { Db } from '../src/db/client.ts';
import { QUEUE_NAMES } from '../src/queues/routing.ts';
import { clientHeaders } from '../src/cli/http-client.ts';
import { ADMIN_TOKEN, API_KEY, API_KEYS, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { startPostgresServer, type TestPostgres } from './support/postgres-server.ts';
import { placeOrderOver, putProductOver, startServiceProcess, type ServiceProcess } from './support/processes.ts';
import { waitUntilSettled } from './support/settle.ts';
import { openStore, sqlNumber, sqlRows, type StoreEnv } from './support/store.ts';
import { testStore } from './support/test-database.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What "a few seconds" means for a refusal while the database is away. */
const ANSWER_WITHIN_MS = 8_000;

/** Everything a test started, undone after it whatever happened. */
const cleanups: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const undo of cleanups.splice(0).reverse()) await Promise.resolve(undo()).catch(() => {});
});

/** A private PostgreSQL server with one fresh database, stopped after the test. */
async function privateDatabase(): Promise<{ server: TestPostgres; store: StoreEnv }> {
  const server = await startPostgresServer();
  cleanups.push(() => server.stop());
  const dir = mkdtempSync(join(tmpdir(), 'orders-pgfaults-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { server, store: { DATABASE_PATH: join(dir, 'orders.db'), DATABASE_URL: await server.createDatabase() } };
}

/** The environment of a service on `store` and the run's Redis, on a queue prefix of its own. */
function serviceEnv(store: StoreEnv, prefix: string): Record<string, string> {
  return {
    DATABASE_PATH: store.DATABASE_PATH,
    DATABASE_URL: store.DATABASE_URL!,
    REDIS_URL: inject('redisUrl'),
    QUEUE_PREFIX: prefix,
    PORT: '0',
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    JOB_BACKOFF_MS: '50',
    JOB_LOCK_MS: '2000',
    RELAY_SWEEP_MS: '100',
    RECONCILE_INTERVAL_MS: '250',
    STUCK_AFTER_MS: '1500',
  };
}

async function start(env: Record<string, string>): Promise<ServiceProcess> {
  const service = await startServiceProcess(env);
  cleanups.push(() => service.kill('SIGKILL'));
  return service;
}

/** BullMQ's view of the service's queues, for settling. */
function watchQueues(prefix: string): Queue[] {
  const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  connection.on('error', () => {});
  const queues = QUEUE_NAMES.map((name) => new Queue(name, { connection, prefix }));
  cleanups.push(async () => {
    await Promise.allSettled(queues.map((q) => q.close()));
    connection.disconnect();
  });
  return queues;
}

/** A handle on the service's database from the test, closed after the test. */
async function openChecked(store: StoreEnv): Promise<Db> {
  const db = await openStore(store);
  cleanups.push(() => closeDatabase(db));
  return db;
}

function uniquePrefix(name: string): string {
  return `${name}${randomBytes(4).toString('hex')}`;
}

/** A fetch that gives up after `ms`, with how long the answer took. */
async function timed(url: string, init: RequestInit = {}, ms = 30_000): Promise<{ res: Response; tookMs: number }> {
  const started = Date.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(ms) });
  return { res, tookMs: Date.now() - started };
}

/** Asks again every 200 ms until `ok` holds; answers how long it took. */
async function until(ok: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const started = Date.now();
  while (!(await ok().catch(() => false))) {
    if (Date.now() - started > timeoutMs) throw new Error(`still not so after ${timeoutMs} ms`);
    await sleep(200);
  }
  return Date.now() - started;
}

const place = (base: string, body: unknown = orderBody(), headers: Record<string, string> = {}) =>
  timed(`${base}/orders`, {
    method: 'POST',
    headers: { ...clientHeaders(API_KEY), 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

/** Expects `res` to be the refusal an outage gives: 503, Retry-After, a problem document. */
async function expectOutageRefusal(res: Response): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBe(503);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(JSON.parse(text)).toMatchObject({ status: 503, type: '/problems/unavailable' });
}

/** The statuses of `ids`, read from the database. */
async function statuses(db: Db, ids: string[]): Promise<string[]> {
  const rows = await sqlRows<{ id: string; status: string }>(db, 'SELECT id, status FROM orders');
  const byId = new Map(rows.map((r) => [r.id, r.status]));
  return ids.map((id) => byId.get(id) ?? 'missing');
}

/** Timings seen (and the lines a failed start wrote), printed at the end of the file for the record. */
const timings: Record<string, number | string> = {};

describe.runIf(testStore() === 'postgres')('PostgreSQL failing under a running service', () => {
  const outages = [
    { name: 'down', take: (s: TestPostgres) => s.kill(), bring: (s: TestPostgres) => s.restart() },
    { name: 'frozen', take: (s: TestPostgres) => s.freeze(), bring: (s: TestPostgres) => s.thaw() },
  ] as const;

  for (const outage of outages) {
    it(`while the server is ${outage.name}: 503 with Retry-After in seconds, /readyz says so, and both recover without a restart`, async () => {
      const { server, store } = await privateDatabase();
      const service = await start({ ...serviceEnv(store, uniquePrefix('pgout')), PAYMENT_LATENCY_MS: '0' });
      const base = `http://127.0.0.1:${service.port}`;
      expect(await putProductOver(base, 'SKU-1', 50, ADMIN_TOKEN)).toBe(201);
      const first = await place(base);
      expect(first.res.status).toBe(201);
      const { id } = (await first.res.json()) as { id: string };
      // Idle pooled connections and new ones both meet the outage below.
      for (let i = 0; i < 5; i++) expect((await place(base)).res.status).toBe(201);

      await outage.take(server);
      const posted = await place(base);
      await expectOutageRefusal(posted.res);
      const read = await timed(`${base}/orders/${id}`, { headers: clientHeaders(API_KEY) });
      await expectOutageRefusal(read.res);
      const ready = await timed(`${base}/readyz`);
      expect(ready.res.status).toBe(503);
      expect(((await ready.res.json()) as { checks: { database: string } }).checks.database).not.toBe('ok');
      // Again, once the pool has seen the outage: still refused, still quickly.
      const again = await place(base);
      await expectOutageRefusal(again.res);
      timings[`${outage.name}: POST /orders → 503 (ms)`] = posted.tookMs;
      timings[`${outage.name}: GET /orders/{id} → 503 (ms)`] = read.tookMs;
      timings[`${outage.name}: GET /readyz → 503 (ms)`] = ready.tookMs;
      timings[`${outage.name}: POST /orders again → 503 (ms)`] = again.tookMs;
      for (const took of [posted.tookMs, read.tookMs, ready.tookMs, again.tookMs]) expect(took).toBeLessThan(ANSWER_WITHIN_MS);

      await outage.bring(server);
      const back = Date.now();
      await until(async () => (await place(base)).res.status === 201);
      await until(async () => (await timed(`${base}/orders/${id}`, { headers: clientHeaders(API_KEY) })).res.status === 200);
      timings[`${outage.name}: POST /orders 201 and GET /orders/{id} 200, after the server is back (ms)`] = Date.now() - back;
      await until(async () => (await timed(`${base}/readyz`, {}, 10_000)).res.status === 200);
      timings[`${outage.name}: /readyz 200, after the server is back (ms)`] = Date.now() - back;
    });

    it(`workers and relays reconnect after the server was ${outage.name}: every order accepted before is completed`, async () => {
      const { server, store } = await privateDatabase();
      const prefix = uniquePrefix('pgwork');
      const env = { ...serviceEnv(store, prefix), PAYMENT_LATENCY_MS: '300' };
      const api = await start({ ...env, ROLE: 'api' });
      await start({ ...env, ROLE: 'worker' });
      const base = `http://127.0.0.1:${api.port}`;
      expect(await putProductOver(base, 'SKU-1', 100, ADMIN_TOKEN)).toBe(201);
      const accepted: string[] = [];
      for (let i = 0; i < 12; i++) {
        const { status, id } = await placeOrderOver(base, orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 1 }], `cus_${i}`));
        expect(status).toBe(201);
        accepted.push(id!);
      }
      // Charges are at the gateway, jobs are running and outbox rows wait when the server goes.
      await outage.take(server);
      await sleep(4_000);
      await outage.bring(server);

      const db = await openChecked(store);
      await waitUntilSettled(db, watchQueues(prefix), { timeoutMs: 60_000, owedMessages: true });
      expect(await statuses(db, accepted)).toEqual(accepted.map(() => 'SHIPPED'));
      expect(await invariantViolations(db, { initialStock: { 'SKU-1': 100 } })).toEqual([]);
    });
  }

  it('a restart of the server in the middle of a load leaves every order settled and every invariant holding', async () => {
    const { server, store } = await privateDatabase();
    const prefix = uniquePrefix('pgload');
    const env = { ...serviceEnv(store, prefix), PAYMENT_LATENCY_MS: '15' };
    const api = await start({ ...env, ROLE: 'api' });
    await start({ ...env, ROLE: 'worker' });
    await start({ ...env, ROLE: 'worker' });
    const base = `http://127.0.0.1:${api.port}`;
    const stock = { 'SKU-A': 60, 'SKU-B': 40 };
    for (const [sku, units] of Object.entries(stock)) expect(await putProductOver(base, sku, units, ADMIN_TOKEN, 700)).toBe(201);

    // Clients retry what the outage refused (503, or no answer) with the same Idempotency-Key.
    const tokens = ['tok_visa', 'tok_visa', 'tok_visa', 'tok_chargeDeclined', 'tok_flaky'];
    const placed = new Set<string>();
    let refusedByOutage = 0;
    let next = 0;
    const count = 80;
    const client = async () => {
      while (next < count) {
        const i = next++;
        const body = orderBody(
          tokens[i % tokens.length],
          [{ sku: i % 3 === 0 ? 'SKU-B' : 'SKU-A', quantity: 1 + (i % 2) }],
          `cus_${i}`,
        );
        for (let attempt = 0; ; attempt++) {
          const { status, id } = await placeOrderOver(base, body, { 'idempotency-key': `load-${i}` });
          if (status === 201) {
            placed.add(id!);
            break;
          }
          if (status === 409) break; // sold out: refused, nothing written
          const unhandled = api.logs.filter((l) => l.msg === 'unhandled error').map((l) => l.err);
          expect([0, 503], JSON.stringify(unhandled)).toContain(status);
          expect(attempt).toBeLessThan(100);
          refusedByOutage++;
          await sleep(200);
        }
      }
    };
    const flowing = Promise.all(Array.from({ length: 8 }, client));
    await sleep(800);
    await server.restart();
    await sleep(800);
    await server.kill();
    await sleep(1_000);
    await server.restart();
    await flowing;
    timings['load: requests refused by the restarts, then retried'] = refusedByOutage;
    timings['load: orders placed'] = placed.size;
    const loadDone = Date.now();

    const db = await openChecked(store);
    await waitUntilSettled(db, watchQueues(prefix), { timeoutMs: 90_000, owedMessages: true });
    timings['load: settled after the last order was placed (ms)'] = Date.now() - loadDone;
    expect(await invariantViolations(db, { initialStock: stock })).toEqual([]);
    expect(await sqlNumber(db, 'SELECT count(*) AS n FROM orders')).toBe(placed.size);
  }, 180_000);

  /** Runs the service until it exits; answers its exit code and what it wrote on stderr. */
  async function startExpectingFailure(databaseUrl: string): Promise<{ code: number | null; stderr: string; tookMs: number }> {
    const dir = mkdtempSync(join(tmpdir(), 'orders-pgfaults-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        API_KEYS,
        ...serviceEnv({ DATABASE_PATH: join(dir, 'orders.db'), DATABASE_URL: databaseUrl }, uniquePrefix('pgbad')),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    cleanups.push(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const [code] = await once(child, 'exit');
    return { code: code as number | null, stderr, tookMs: Date.now() - started };
  }

  /** One line, and no stack trace in it. */
  function expectOneClearLine(stderr: string): void {
    const lines = stderr.trim().split('\n');
    expect(lines, stderr).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr).not.toMatch(/^\s*at /m);
  }

  it('started on a server that does not answer, the service exits with 1 and one clear line', async () => {
    const { server, store } = await privateDatabase();
    server.freeze();
    const frozen = await startExpectingFailure(store.DATABASE_URL!);
    server.thaw();
    expect(frozen.code).toBe(1);
    expectOneClearLine(frozen.stderr);
    expect(frozen.stderr).toMatch(/PostgreSQL/);
    expect(frozen.stderr).not.toContain('password');
    timings['start on a frozen server: exit after (ms)'] = frozen.tookMs;
    timings['start on a frozen server: stderr'] = frozen.stderr.trim();

    const url = new URL(store.DATABASE_URL!);
    await server.kill();
    const refused = await startExpectingFailure(url.toString());
    expect(refused.code).toBe(1);
    expectOneClearLine(refused.stderr);
    timings['start on a stopped server: exit after (ms)'] = refused.tookMs;
    timings['start on a stopped server: stderr'] = refused.stderr.trim();
  }, 60_000);

  it('started with a malformed DATABASE_URL, the service exits with 1 and one clear line', async () => {
    for (const bad of ['postgres://', 'postgres://[::1', 'postgres://user@host:notaport/db', 'mysql://host/db']) {
      const result = await startExpectingFailure(bad);
      expect(result.code, bad).toBe(1);
      expectOneClearLine(result.stderr);
      expect(result.stderr).toMatch(/DATABASE_URL|PostgreSQL/);
      timings[`start with DATABASE_URL=${bad}: stderr`] = result.stderr.trim();
    }
  }, 60_000);

  it('records its timings', () => {
    console.log(JSON.stringify(timings, null, 2));
  });
});
