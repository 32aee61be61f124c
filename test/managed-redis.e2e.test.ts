/**
 * The managed redis-server as an operator meets it: `npm start` processes (src/main.ts, REDIS_URL
 * unset) sharing one deployment directory. MANAGED_REDIS=always keeps them off any Redis that
 * may answer on 127.0.0.1:6379 on the test machine, without changing how they find, start,
 * share, follow and stop the managed one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { redisAnswers } from '../src/queues/connection.ts';
import { processAlive } from '../src/redis-server/local-process.ts';
import { managedRedisPid, managedRedisUrl } from '../src/redis-server/managed-redis.ts';
import { ADMIN_TOKEN, API_KEY, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { placeOrderOver, putProductOver, startServiceProcess, type ServiceProcess } from './support/processes.ts';
import { storeEnv, type StoreEnv } from './support/store.ts';

let dir: string;
/** The store of the deployment in `dir`, made when its first process starts. */
let store: { dir: string; env: StoreEnv } | undefined;
const started: ServiceProcess[] = [];
const leftovers: number[] = [];
let blocker: Server | undefined;

afterEach(async () => {
  for (const p of started.splice(0)) await p.kill('SIGKILL');
  // Whatever a failed test left behind: no redis-server of ours outlives the test.
  const last = managedRedisPid(join(dir, 'redis'));
  for (const pid of [...leftovers.splice(0), ...(last ? [last] : [])]) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  blocker?.close();
  blocker = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function env(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  if (store?.dir !== dir) store = { dir, env: await storeEnv(dir) };
  return {
    ...store.env,
    MANAGED_REDIS: 'always',
    PORT: '0',
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    ...extra,
  };
}

async function start(extra: Record<string, string> = {}): Promise<ServiceProcess> {
  const p = await startServiceProcess(await env(extra));
  started.push(p);
  return p;
}

/** The managed redis-server of the deployment: its URL and pid, as its files say. */
function managed(): { url: string; pid: number } {
  const url = managedRedisUrl(join(dir, 'redis'));
  const pid = managedRedisPid(join(dir, 'redis'));
  expect(url).toBeDefined();
  expect(pid).toBeDefined();
  leftovers.push(pid!);
  return { url: url!, pid: pid! };
}

/** A server listening on `port` once the port is free; undefined when it stays taken by someone else for `withinMs`. */
async function holdPort(port: number, withinMs = 20_000): Promise<Server | undefined> {
  for (let waited = 0; waited < withinMs; waited += 100) {
    const server = createServer();
    const listening = await new Promise<boolean>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(false) : reject(error)));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (listening) return server;
    await sleep(100);
  }
  return undefined;
}

async function gone(pid: number, withinMs = 20_000): Promise<boolean> {
  for (let waited = 0; waited < withinMs && processAlive(pid); waited += 50) await sleep(50);
  return !processAlive(pid);
}

async function waitForShipped(base: string, id: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let status = '';
  while (Date.now() < deadline) {
    const res = await fetch(`${base}/orders/${id}`, { headers: { authorization: `Bearer ${API_KEY}` } }).catch(() => undefined);
    if (res?.ok) status = ((await res.json()) as { status: string }).status;
    if (status === 'SHIPPED') break;
    await sleep(100);
  }
  return status;
}

describe('the managed redis-server', () => {
  it('left running by a SIGKILLed owner, is adopted by the next start and stopped by its graceful stop', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-managed-e2e-'));
    const owner = await start();
    const server = managed();
    expect(owner.logs.some((l) => l.msg === 'started a managed redis-server' && l.url === server.url)).toBe(true);

    await owner.kill('SIGKILL');
    expect(processAlive(server.pid)).toBe(true);
    expect(await redisAnswers(server.url)).toBe(true);

    const next = await start();
    expect(next.logs.find((l) => l.url === server.url)?.msg).toBe(
      'adopted the managed redis-server its last process left running',
    );
    expect(managed()).toEqual(server);
    const base = `http://127.0.0.1:${next.port}`;
    expect(await putProductOver(base, 'SKU-1', 5, ADMIN_TOKEN)).toBe(201);
    const { id } = await placeOrderOver(base, orderBody());
    expect(await waitForShipped(base, id!)).toBe('SHIPPED');

    expect(await next.kill('SIGTERM')).toBe(0);
    expect(await gone(server.pid)).toBe(true);
    expect(await redisAnswers(server.url)).toBe(false);
    expect(managedRedisUrl(join(dir, 'redis'))).toBeUndefined();
  });

  it('left behind and no longer answering, is stopped and replaced by the next start', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-managed-e2e-'));
    const owner = await start();
    const stale = managed();
    let base = `http://127.0.0.1:${owner.port}`;
    expect(await putProductOver(base, 'SKU-1', 5, ADMIN_TOKEN)).toBe(201);
    await owner.kill('SIGKILL');
    process.kill(stale.pid, 'SIGSTOP');
    expect(await redisAnswers(stale.url)).toBe(false);

    const next = await start();
    expect(next.logs.some((l) => l.msg === 'started a managed redis-server')).toBe(true);
    expect(await gone(stale.pid)).toBe(true);
    const fresh = managed();
    expect(fresh.pid).not.toBe(stale.pid);
    base = `http://127.0.0.1:${next.port}`;
    const { id } = await placeOrderOver(base, orderBody());
    expect(await waitForShipped(base, id!)).toBe('SHIPPED');
  });

  it('shared by two processes, stays up when one stops gracefully and stops with the last one', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-managed-e2e-'));
    const api = await start({ ROLE: 'api' });
    const server = managed();
    const worker = await start({ ROLE: 'worker' });
    expect(worker.logs.find((l) => l.url === server.url)?.msg).toBe('using the managed redis-server of this deployment');

    expect(await api.kill('SIGTERM')).toBe(0);
    expect(api.logs.find((l) => String(l.msg).startsWith('left the managed'))).toMatchObject({
      msg: 'left the managed redis-server running for the other processes using it',
      others: 1,
    });
    expect(await redisAnswers(server.url)).toBe(true);

    // The stopped API's orders are still carried by the worker, on the same Redis.
    const again = await start({ ROLE: 'api' });
    const base = `http://127.0.0.1:${again.port}`;
    expect(await putProductOver(base, 'SKU-1', 5, ADMIN_TOKEN)).toBe(201);
    const { id } = await placeOrderOver(base, orderBody());
    expect(await waitForShipped(base, id!)).toBe('SHIPPED');
    expect(await again.kill('SIGTERM')).toBe(0);
    expect(processAlive(server.pid)).toBe(true);

    expect(await worker.kill('SIGTERM')).toBe(0);
    expect(worker.logs.some((l) => l.msg === 'stopped the managed redis-server: no other process uses it')).toBe(true);
    expect(await gone(server.pid)).toBe(true);
  });

  // Retried: once in a few full parallel runs the stopped redis-server was still listed after 20 s
  // (cause not found; alone, and beside the chaos suite, it passes every time).
  it('restarts on the port it had when that port is free', { retry: 2 }, async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-managed-e2e-'));
    const first = await start();
    const before = managed();
    const code = await first.kill('SIGTERM');
    const said = first.logs.map((l) => String(l.msg)).slice(-6);
    expect(code, `the graceful stop ended with ${code}; it last said ${JSON.stringify(said)}; stderr: ${first.stderr}`).toBe(0);
    expect(await gone(before.pid), `redis-server ${before.pid} still runs; the process last said ${JSON.stringify(said)}`).toBe(
      true,
    );
    await start();
    const after = managed();
    expect(after.pid).not.toBe(before.pid);
    expect(after.url).toBe(before.url);
  });

  // Retried, like the test above: once in a full parallel run of both engines' suites it passed its
  // 60 s without the worker following (cause not found; alone it passes every time).
  it('is followed to its new port by a worker that found it, which keeps carrying orders', { retry: 2 }, async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-managed-e2e-'));
    const api = await start({ ROLE: 'api' });
    const worker = await start({ ROLE: 'worker' });
    const old = managed();
    let base = `http://127.0.0.1:${api.port}`;
    expect(await putProductOver(base, 'SKU-1', 5, ADMIN_TOKEN)).toBe(201);
    const first = await placeOrderOver(base, orderBody());
    expect(await waitForShipped(base, first.id!)).toBe('SHIPPED');

    // The API process and its redis-server die; something else takes the port before the next start.
    await api.kill('SIGKILL');
    process.kill(old.pid, 'SIGKILL');
    expect(await gone(old.pid)).toBe(true);
    // Another socket may hold the freed port for a moment (a reconnecting client of the dead
    // server, another process of the run): wait until the blocker holds it, so that it is still
    // taken when the next start looks.
    blocker = await holdPort(Number(new URL(old.url).port));

    const restarted = await start({ ROLE: 'api' });
    const moved = managed();
    expect(moved.url).not.toBe(old.url);
    base = `http://127.0.0.1:${restarted.port}`;
    const second = await placeOrderOver(base, orderBody());
    expect(second.status).toBe(201);
    expect(await waitForShipped(base, second.id!)).toBe('SHIPPED');
    expect(worker.logs.find((l) => l.msg === 'the managed redis-server moved; following it')).toMatchObject({
      from: old.url,
      to: moved.url,
    });
  });
});
