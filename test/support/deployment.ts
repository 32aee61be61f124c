/**
 * A deployment under test, as the chaos suites run it: the service as real processes (an API, and
 * what workers the test starts) on a private redis-server and a fresh store, with the test's own
 * handle on that store and its own view of the queues. One `stop()` takes it all down in reverse
 * order, however far the start got, so that a half-failed `beforeAll` leaves nothing running.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Db } from '../../src/db/client.ts';
import { closeDatabase } from '../../src/db/open.ts';
import { QUEUE_NAMES } from '../../src/queues/routing.ts';
import { ADMIN_TOKEN, WEBHOOK_SECRET } from './harness.ts';
import { startServiceProcess, type ServiceProcess } from './processes.ts';
import { startRedisServer, type TestRedis } from './redis-server.ts';
import { openStore, storeEnv, type StoreEnv } from './store.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

export interface DeploymentOptions {
  /** Names the temporary directory: `orders-<name>-…`. */
  name: string;
  /** QUEUE_PREFIX, for the services and for the test's own queues. */
  queuePrefix: string;
  /** The test's settings, over what every deployment gets (store, Redis, tokens, PORT 0). */
  env?: Record<string, string>;
  /** How long each process may take to start; startServiceProcess's default when absent. */
  startTimeoutMs?: number;
  /** Workers to start at the same time as the API, before the store is opened from the test. */
  workers?: number;
  /**
   * The services reach Redis through a TCP proxy (test/support/tcp-proxy.ts) that the test can
   * make half-open; the test's own view of the queues goes straight to Redis, past it.
   */
  proxy?: boolean;
}

export interface Deployment {
  dir: string;
  /**
   * The private Redis. A test that kills it and starts an empty one on the same port puts the new
   * one here, so that `stop()` stops that one.
   */
  redis: TestRedis;
  /** The proxy the services reach Redis through, with `proxy: true`. */
  proxy: TcpProxy | undefined;
  store: StoreEnv;
  /** The environment every process of the deployment starts with (ROLE aside). */
  env: Record<string, string>;
  /** The first API process. */
  api: ServiceProcess;
  /** Its HTTP address. */
  base: string;
  /** Every process started, killed or not: `stop()` kills what still runs. */
  processes: ServiceProcess[];
  /** The workers started with the `workers` option. */
  workers: ServiceProcess[];
  db: Db;
  /** The test's own connection to Redis, which its queues use. */
  watcher: Redis;
  /** One per queue name, with the deployment's prefix. */
  queues: Queue[];
  /** Starts one more process of the deployment, `extra` over its environment. */
  startProcess(role: 'api' | 'worker', extra?: Record<string, string>): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

/**
 * Starts a deployment: directory, Redis (and proxy), store, one API process (and `workers`), the
 * store opened from the test, a watcher connection and the queues. On a failure part way, stops
 * what it started before it rethrows.
 */
export async function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  const processes: ServiceProcess[] = [];
  const startProcess = async (role: 'api' | 'worker', extra: Record<string, string> = {}) => {
    const started = await startServiceProcess({ ...deployment.env, ROLE: role, ...extra }, options.startTimeoutMs);
    processes.push(started);
    return started;
  };
  // Filled in as each part starts; `stop()` takes down what is there.
  const deployment: Partial<Deployment> = { processes, startProcess, stop };
  async function stop(): Promise<void> {
    const { queues, watcher, db, proxy, redis, dir } = deployment;
    const steps: Array<() => unknown> = [
      () => Promise.allSettled(processes.map((p) => p.kill())),
      () => Promise.allSettled(queues?.map((q) => q.close()) ?? []),
      () => watcher?.disconnect(),
      () => db && closeDatabase(db),
      () => proxy?.close(),
      () => redis?.stop(),
      () => dir && rmSync(dir, { recursive: true, force: true }),
    ];
    const errors: unknown[] = [];
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  }

  try {
    const dir = mkdtempSync(join(tmpdir(), `orders-${options.name}-`));
    deployment.dir = dir;
    const redis = await startRedisServer();
    deployment.redis = redis;
    const proxy = options.proxy ? await startTcpProxy({ port: redis.port }) : undefined;
    deployment.proxy = proxy;
    const store = await storeEnv(dir);
    deployment.store = store;
    deployment.env = {
      ...store,
      REDIS_URL: proxy ? `redis://127.0.0.1:${proxy.port}` : redis.url,
      QUEUE_PREFIX: options.queuePrefix,
      ADMIN_TOKEN,
      WEBHOOK_SECRET,
      PORT: '0',
      ...options.env,
    };
    // Every start ends before a failed one is reported, so that `stop()` finds them all.
    const starts = await Promise.allSettled([
      startProcess('api'),
      ...Array.from({ length: options.workers ?? 0 }, () => startProcess('worker')),
    ]);
    const [api, ...workers] = starts.map((start) => {
      if (start.status === 'rejected') throw start.reason;
      return start.value;
    });
    deployment.api = api;
    deployment.base = `http://127.0.0.1:${api!.port}`;
    deployment.workers = workers;
    deployment.db = await openStore(store);
    const watcher = new Redis(redis.url, { maxRetriesPerRequest: null });
    deployment.watcher = watcher;
    // Some tests kill Redis on purpose: the test's own connections take that quietly.
    watcher.on('error', () => {});
    deployment.queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: watcher, prefix: options.queuePrefix }));
    for (const queue of deployment.queues) queue.on('error', () => {});
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  return deployment as Deployment;
}

/** Polls `check` every `everyMs` until it holds; throws, naming `what`, after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
  everyMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(everyMs);
  }
  throw new Error(`${what} did not happen in ${timeoutMs} ms`);
}
