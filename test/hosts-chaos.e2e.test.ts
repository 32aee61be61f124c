/**
 * Chaos across hosts: the service deployed as on four machines (network namespaces, see
 * test/support/hosts.ts): `db` runs PostgreSQL and Redis, `api` the API, `w1` and `w2` a worker
 * each. While storefront clients place orders without pause, retrying with their Idempotency-Keys
 * through timeouts, 503s and refused connections, a worker host loses its process to SIGKILL (a
 * new one starts there), the other worker host is cut off the network for a while, and PostgreSQL
 * crashes and comes back on the same data. Afterwards every order settles, every accepted order
 * exists exactly once, the invariants of DESIGN.md hold over all of them, and both worker hosts
 * did part of the work.
 *
 * PostgreSQL only: the point is a database on another host, which SQLite's file cannot be. Needs
 * root (namespaces): skipped without, except under CI, where needHosts fails the file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientHeaders } from '../src/cli/http-client.ts';
import { placeOrderOverHttp, type Placement } from '../src/cli/load-engine.ts';
import { type RetryPolicy, retryable, withRetries } from '../src/cli/load-retry.ts';
import type { Db } from '../src/db/client.ts';
import { closeDatabase, openDatabase } from '../src/db/open.ts';
import { QUEUE_NAMES } from '../src/queues/routing.ts';
import { ADMIN_TOKEN, API_KEY, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { createTestNetwork, needHosts, type TestNetwork } from './support/hosts.ts';
import { invariantViolations } from './support/invariants.ts';
import { startPostgresServer, type TestPostgres } from './support/postgres-server.ts';
import { putProductOver, startServiceProcess, type ServiceProcess } from './support/processes.ts';
import { startRedisServer, type TestRedis } from './support/redis-server.ts';
import { waitUntilSettled } from './support/settle.ts';
import { sqlRows } from './support/store.ts';
import { testStore } from './support/test-database.ts';

const runs = testStore() === 'postgres' && (await needHosts());

/** Enough that the shelves empty only late in the run: workers have work through every blow. */
const STOCK = { 'SKU-A': 400, 'SKU-B': 150 };
const PREFIX = 'hostchaos';
const TOKENS = ['tok_visa', 'tok_visa', 'tok_visa', 'tok_visa', 'tok_chargeDeclined', 'tok_flaky', 'tok_flaky'];
/** A storefront's patience: each attempt waits 3 s for an answer, and an order is retried for up to 45 s. */
const RETRY: RetryPolicy = { retryForMs: 45_000, requestTimeoutMs: 3_000, baseDelayMs: 100, maxDelayMs: 1_000 };
const CLIENTS = 4;
/** Each client's pause between orders: about 25 orders a second in all, on a two-core machine. */
const PAUSE_MS = 150;

let net: TestNetwork | undefined;
let dir: string | undefined;
let pg: TestPostgres | undefined;
let redis: TestRedis | undefined;
let env: Record<string, string>;
let base: string;
/** Every process started, for cleanup and post-mortem. */
const services: ServiceProcess[] = [];
let w1: ServiceProcess;
let w2: ServiceProcess;
let db: Db | undefined;
let watcher: Redis | undefined;
let queues: Queue[] = [];

/** What the clients were finally told, per Idempotency-Key. */
const outcomes = new Map<string, Placement>();
/** Attempts that got no answer (0) or a 503, over the whole run: proof that the clients felt the blows. */
const failedAttempts = { noAnswer: 0, unavailable: 0 };
let placing = false;
/** Set when the test ends early: retries in flight give up at once. */
let abandoned = false;

/** Set when the test passed; otherwise the processes' logs are kept for a post-mortem. */
let passed = false;

/** Writes every process's stderr and log lines to a directory that outlives the run, and says where. */
function keepLogs(): void {
  const kept = mkdtempSync(join(tmpdir(), 'orders-hostchaos-logs-'));
  for (const [i, service] of services.entries()) {
    const { exitCode, signalCode } = service.child;
    const lines = service.logs.map((line) => JSON.stringify(line)).join('\n');
    const role = service.logs[0]?.role ?? 'unknown';
    writeFileSync(join(kept, `${i}-${role}.log`), `exit ${exitCode} ${signalCode}\n${service.stderr}\n${lines}\n`);
  }
  console.error(`hosts chaos: the processes' logs are in ${kept} (numbered in the order they started)`);
}

/** Starts `src/main.ts` inside `host`. */
async function startOn(host: string, extra: Record<string, string>): Promise<ServiceProcess> {
  const service = await startServiceProcess({ ...env, ...extra }, 30_000, { spawn: net!.spawner(host) });
  services.push(service);
  return service;
}

function startWorker(host: string): Promise<ServiceProcess> {
  return startOn(host, { ROLE: 'worker', LOG_LEVEL: 'debug' });
}

/** Jobs a worker process finished, from its `job done` log lines (LOG_LEVEL=debug). */
function jobsDone(worker: ServiceProcess): number {
  return worker.logs.filter((line) => line.msg === 'job done').length;
}

beforeAll(async () => {
  if (!runs) return;
  net = await createTestNetwork({ hosts: ['db', 'api', 'w1', 'w2'] });
  dir = mkdtempSync(join(tmpdir(), 'orders-hostchaos-'));
  const dbHost = net.address('db');
  // One after the other, so that afterAll knows of whichever started if the other fails.
  pg = await startPostgresServer({ host: dbHost, spawn: net.spawner('db') });
  redis = await startRedisServer(undefined, { host: dbHost, spawn: net.spawner('db') });
  env = {
    DATABASE_URL: await pg.createDatabase('orders'),
    DATABASE_PATH: join(dir, 'orders.db'),
    DATABASE_POOL_SIZE: '4',
    REDIS_URL: redis.url,
    QUEUE_PREFIX: PREFIX,
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    HOST: '0.0.0.0',
    PORT: '0',
    PAYMENT_LATENCY_MS: '15', // so that jobs are in flight when the blows land
    JOB_BACKOFF_MS: '50',
    JOB_LOCK_MS: '1500',
    JOB_STALLED_INTERVAL_MS: '1000',
    RELAY_SWEEP_MS: '100',
    STUCK_AFTER_MS: '1500',
    RECONCILE_INTERVAL_MS: '250',
    SHUTDOWN_GRACE_MS: '2000',
  };
  // At once, as a deployment would: migrations run under a lock, the database's identity is made once.
  let api: ServiceProcess;
  [api, w1, w2] = await Promise.all([startOn('api', { ROLE: 'api' }), startWorker('w1'), startWorker('w2')]);
  base = `http://${net.address('api')}:${api.port}`;
  for (const [sku, stock] of Object.entries(STOCK)) expect(await putProductOver(base, sku, stock, ADMIN_TOKEN, 700)).toBe(201);
}, 60_000);

afterAll(async () => {
  if (runs && !passed) keepLogs();
  abandoned = true;
  placing = false;
  await net?.restore('w2').catch(() => {});
  await Promise.allSettled(services.map((service) => service.kill('SIGKILL')));
  await Promise.allSettled(queues.map((queue) => queue.close()));
  watcher?.disconnect();
  if (db) await closeDatabase(db).catch(() => {});
  await Promise.allSettled([pg?.stop(), redis?.stop()]);
  await net?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** Places order `i` as a storefront would: retried with its key until a final answer or the client's patience ends. */
async function placeOne(i: number): Promise<void> {
  const key = `hostchaos-${i}`;
  const items = [{ sku: i % 3 === 0 ? 'SKU-B' : 'SKU-A', quantity: 1 + (i % 2) }];
  const body = orderBody(TOKENS[i % TOKENS.length], items, `cus_${i}`);
  const placement = await withRetries(RETRY, async () => {
    if (abandoned) return { status: -1, latencyMs: 0 };
    const attempt = await placeOrderOverHttp(
      base,
      body,
      { 'idempotency-key': key },
      { apiKey: API_KEY, timeoutMs: RETRY.requestTimeoutMs },
    );
    if (attempt.status === 0) failedAttempts.noAnswer++;
    if (attempt.status === 503) failedAttempts.unavailable++;
    return attempt;
  });
  outcomes.set(key, placement);
  // Some customers change their minds at once; the cancel is retried like the order.
  if (placement.status === 201 && i % 17 === 0) {
    await withRetries(RETRY, async () => {
      if (abandoned) return { status: -1, latencyMs: 0 };
      const started = performance.now();
      const status = await fetch(`${base}/orders/${placement.id}/cancel`, {
        method: 'POST',
        headers: clientHeaders(API_KEY),
        signal: AbortSignal.timeout(RETRY.requestTimeoutMs),
      }).then(
        (res) => res.status,
        () => 0,
      );
      return { status, latencyMs: performance.now() - started };
    });
  }
}

/** Clients placing orders until `placing` is cleared; resolves once each has its last order answered. */
async function placeContinuously(): Promise<void> {
  placing = true;
  let next = 0;
  const client = async () => {
    while (placing) {
      await placeOne(next++);
      await sleep(PAUSE_MS);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
}

/** Waits until `check` holds, or fails after `timeoutMs` saying what was awaited. */
async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(50);
  }
}

describe.runIf(runs)('chaos across hosts: API, two workers, PostgreSQL and Redis on separate hosts', () => {
  it('a worker host SIGKILLed, a worker host partitioned and PostgreSQL crashed: every accepted order exists once and settles soundly', async () => {
    const network = net!;
    const started = Date.now();
    const mark = (what: string) => console.info(`hosts chaos ${((Date.now() - started) / 1000).toFixed(1)}s: ${what}`);
    const load = placeContinuously();

    // 1. Both worker hosts work; then w1's process dies mid-job and a new one starts there.
    await until('both workers have finished jobs', () => jobsDone(w1) >= 5 && jobsDone(w2) >= 5, 20_000);
    mark(`w1 SIGKILLed after ${jobsDone(w1)} jobs (w2: ${jobsDone(w2)})`);
    expect(await w1.kill('SIGKILL')).toBeNull();
    await sleep(1_000);
    const w1again = await startWorker('w1');
    mark('w1 restarted');

    // 2. w2 is cut off the network: its jobs' locks lapse and w1 takes them over.
    await until('the new w1 has finished jobs', () => jobsDone(w1again) > 0, 15_000);
    await network.cut('w2');
    const w1AtCut = jobsDone(w1again);
    mark(`w2 cut after ${jobsDone(w2)} jobs`);
    // Longer than the server's limit on an idle transaction (db/engines/postgres.ts): the rows
    // w2's stalled transactions locked are freed, and w1 carries on.
    await sleep(8_000);
    await network.restore('w2');
    const w2AtRestore = jobsDone(w2);
    mark(`w2 restored; w1 did ${jobsDone(w1again) - w1AtCut} jobs meanwhile`);
    expect(jobsDone(w1again)).toBeGreaterThan(w1AtCut);

    // 3. PostgreSQL crashes and comes back on the same port and data.
    await sleep(2_000);
    await pg!.kill();
    mark('PostgreSQL killed');
    await sleep(1_500);
    await pg!.restart();
    mark('PostgreSQL restarted');
    await sleep(3_000);

    placing = false;
    await load;
    mark(`load stopped: ${outcomes.size} orders, ${JSON.stringify(failedAttempts)} attempts failed`);

    db = await openDatabase({ url: env.DATABASE_URL, path: env.DATABASE_PATH!, poolSize: 4 });
    watcher = new Redis(redis!.url, { maxRetriesPerRequest: null });
    queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: watcher!, prefix: PREFIX }));
    await waitUntilSettled(db, queues, { timeoutMs: 45_000, owedMessages: true });
    mark('settled');

    // Every client got a final answer: its order taken (201) or refused for want of stock (409).
    const answers = [...outcomes.values()];
    expect(answers.filter((p) => retryable(p) || ![201, 409].includes(p.status))).toEqual([]);
    const accepted = answers.filter((p) => p.status === 201).map((p) => p.id!);
    expect(new Set(accepted).size).toBe(accepted.length);
    expect(accepted.length).toBeGreaterThan(100);

    // Each accepted order exists exactly once, and nothing else does.
    const orderIds = (await sqlRows<{ id: string }>(db, 'SELECT id FROM orders')).map((row) => row.id);
    expect(orderIds.length).toBe(accepted.length);
    expect(new Set(orderIds)).toEqual(new Set(accepted));
    const keyed = (await sqlRows<{ orderId: string }>(db, 'SELECT order_id AS "orderId" FROM idempotency_keys')).map(
      (row) => row.orderId,
    );
    expect(keyed.sort()).toEqual([...accepted].sort());

    expect(await invariantViolations(db, { initialStock: STOCK })).toEqual([]);

    // The blows were felt: clients had to retry, and the service's own recovery did the rest.
    expect(failedAttempts.noAnswer + failedAttempts.unavailable).toBeGreaterThan(0);
    // Both worker hosts did work, and w2 resumed after its partition healed.
    expect(jobsDone(w1) + jobsDone(w1again)).toBeGreaterThan(0);
    expect(jobsDone(w2)).toBeGreaterThan(0);
    expect(jobsDone(w2)).toBeGreaterThan(w2AtRestore);
    mark(`jobs done: w1 ${jobsDone(w1)} + ${jobsDone(w1again)}, w2 ${jobsDone(w2)}`);
    passed = true;
  }, 90_000);
});
