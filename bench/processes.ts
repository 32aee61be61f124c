/**
 * Real processes for the benchmark, as production runs them: the service (`src/main.ts`, one API
 * and N worker processes) and the ceiling's worker, each waited for until it is ready, and
 * stopped with SIGTERM so that a `--cpu-prof` run writes its profile.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { putProductOverHttp } from '../src/cli/load-engine.ts';
import { freePort } from '../src/redis-server/managed-redis.ts';
import { makeCpuCap, type CpuCap } from './cpu.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ADMIN_TOKEN = 'bench-admin-token-0123456789';
export const API_KEY = 'bench-api-key-0123456789abcdef';

export interface Child {
  name: string;
  process: ChildProcess;
  output(): string;
}

/** Where `--cpu-prof` profiles go, when profiling. */
export interface ProfileOptions {
  dir: string | undefined;
}

export function startNode(name: string, args: string[], env: Record<string, string>, profile: ProfileOptions, cwd = ROOT): Child {
  // One folder per process: Node writes one profile per thread (tsx's loader has its own).
  const flags = profile.dir ? ['--cpu-prof', `--cpu-prof-dir=${join(profile.dir, `${name}-${Date.now()}`)}`] : [];
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { name, process: child, output: () => output };
}

export async function stopAll(children: Child[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.process.exitCode !== null || c.process.signalCode !== null) return;
      const exited = once(c.process, 'exit');
      c.process.kill('SIGTERM');
      const timer = setTimeout(() => c.process.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

export async function waitFor(what: string, check: () => Promise<boolean>, children: Child[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const dead = children.find((c) => c.process.exitCode !== null);
    if (dead) throw new Error(`${dead.name} exited with ${dead.process.exitCode}: ${dead.output()}`);
    if (await check().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`${what} not ready in ${timeoutMs} ms: ${children.map((c) => `${c.name}: ${c.output()}`).join('\n')}`);
}

/** Waits until `count` processes have workers on `queue`. */
export async function waitForWorkers(redisUrl: string, prefix: string, queue: string, count: number, children: Child[]) {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const q = new Queue(queue, { connection, prefix });
  try {
    await waitFor(`${count} ${queue} workers`, async () => (await q.getWorkersCount()) >= count, children);
  } finally {
    await q.close();
    await connection.quit();
  }
}

export interface ServiceTopology {
  redisUrl: string;
  databasePath: string;
  /** A PostgreSQL database to store in instead of the SQLite file (DATABASE_URL). */
  databaseUrl?: string;
  /** DATABASE_POOL_SIZE of each process, when not the service's default. */
  poolSize?: number;
  prefix: string;
  /** Worker processes beside the API; 0 runs one process with the API and the workers (ROLE=all). */
  workers: number;
  workerConcurrency?: number;
  profile: ProfileOptions;
  /** The checkout to run, when not this one (a baseline to compare with). */
  root?: string;
  /** Caps each worker process at this many cores (a cgroup of its own), so that it is the bottleneck. */
  workerCpuCap?: number;
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS=true: webhook endpoints may be http:// on loopback (the benchmark's receiver). */
  allowPrivateWebhookTargets?: boolean;
}

export interface RunningBenchService {
  url: string;
  children: Child[];
  /** Where each process serves /metrics: the API's port, and each worker's METRICS_PORT. */
  metricsUrls: string[];
  stop(): Promise<void>;
}

/**
 * One API process and `workers` worker processes on one database, payment latency 0; or, with
 * `workers: 0`, the embedded default of `npm start`: one process doing everything.
 */
export async function startBenchService(t: ServiceTopology): Promise<RunningBenchService> {
  const port = await freePort();
  const env = {
    REDIS_URL: t.redisUrl,
    DATABASE_PATH: t.databasePath,
    ...(t.databaseUrl ? { DATABASE_URL: t.databaseUrl } : {}),
    ...(t.poolSize ? { DATABASE_POOL_SIZE: String(t.poolSize) } : {}),
    QUEUE_PREFIX: t.prefix,
    ADMIN_TOKEN,
    API_KEYS: API_KEY,
    WEBHOOK_SECRET: 'bench-webhook-secret-0123456789',
    PAYMENT_LATENCY_MS: '0',
    LOG_LEVEL: 'warn',
    ...(t.workerConcurrency ? { WORKER_CONCURRENCY: String(t.workerConcurrency) } : {}),
    ...(t.allowPrivateWebhookTargets ? { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } : {}),
  };
  const embedded = t.workers === 0;
  const children = [
    startNode(
      embedded ? 'all' : 'api',
      ['src/main.ts'],
      { ...env, ROLE: embedded ? 'all' : 'api', PORT: String(port) },
      t.profile,
      t.root,
    ),
  ];
  const url = `http://127.0.0.1:${port}`;
  const metricsUrls = [`${url}/metrics`];
  const caps: CpuCap[] = [];
  const stop = async () => {
    await stopAll(children);
    for (const cap of caps) cap.remove();
  };
  try {
    // The API migrates the database first, so that workers do not race it.
    await waitFor('api', async () => (await fetch(`${url}/healthz`)).ok, children);
    for (let i = 1; i <= t.workers; i++) {
      const metricsPort = await freePort();
      const worker = startNode(
        `worker${i}`,
        ['src/main.ts'],
        { ...env, ROLE: 'worker', METRICS_PORT: String(metricsPort) },
        t.profile,
        t.root,
      );
      children.push(worker);
      metricsUrls.push(`http://127.0.0.1:${metricsPort}/metrics`);
      if (t.workerCpuCap) {
        const cap = makeCpuCap(`orders-bench-worker${i}`, t.workerCpuCap);
        caps.push(cap);
        cap.add(worker.process.pid!);
      }
    }
    await waitForWorkers(t.redisUrl, t.prefix, 'notification', Math.max(1, t.workers), children);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, children, metricsUrls, stop };
}

/** The sum of one counter over every process's /metrics (0 where a process does not serve it). */
export async function scrapeCounter(urls: string[], name: string): Promise<number> {
  let sum = 0;
  for (const url of urls) {
    const text = await fetch(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      .then((r) => (r.ok ? r.text() : ''))
      .catch(() => '');
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    sum += line ? Number(line.split(' ')[1]) : 0;
  }
  return sum;
}

export async function putProduct(url: string, sku: string, stock: number): Promise<void> {
  const { status, text } = await putProductOverHttp(url, ADMIN_TOKEN, {
    sku,
    name: `Benchmark ${sku}`,
    priceCents: 1_000,
    stock,
  });
  if (status >= 300) throw new Error(`PUT /admin/products/${sku}: ${status} ${text}`);
}
