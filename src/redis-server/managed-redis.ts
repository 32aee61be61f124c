/**
 * The embedded default: when no Redis is configured or answering, start `redis-server` as a
 * process of its own with its data under data/, configured as a queue store should be
 * (append-only file, no eviction). Beside its data it leaves its URL (while it runs), its pid
 * (redis-server's own pid file) and its port (kept, so that the next one listens on the same
 * port when it can and the other processes need not move). The deployment's other processes (a
 * worker started with `npm start`, the operator CLI) find it through the URL file;
 * managed-redis-users.ts decides who starts and who stops it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { redisAnswers } from '../queues/connection.ts';
import { processAlive, processCommand } from './local-process.ts';

export interface ManagedRedis {
  url: string;
  /** The redis-server's pid. */
  pid: number;
  stop(): Promise<void>;
}

const URL_FILE = 'redis.url';
const PID_FILE = 'redis.pid';
const PORT_FILE = 'redis.port';

/** Where the managed redis-server keeps its data: `redis/` beside the database file. */
export function managedRedisDir(config: { databasePath: string }): string {
  return join(dirname(resolve(config.databasePath)), 'redis');
}

/** The URL a managed redis-server running on `dataDir` wrote, if any (it may have died since). */
export function managedRedisUrl(dataDir: string): string | undefined {
  return readTrimmed(join(resolve(dataDir), URL_FILE));
}

/** The pid redis-server wrote for itself; it removes the file when it shuts down cleanly. */
export function managedRedisPid(dataDir: string): number | undefined {
  const pid = Number(readTrimmed(join(resolve(dataDir), PID_FILE)));
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function redisServerOnPath(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts a redis-server on `dataDir`, on the port the last one used when that port is free. It
 * runs in a process group of its own, so a Ctrl-C meant for the process that started it does not
 * take it from the others using it; `stop()` stops it.
 */
export async function startManagedRedis(dataDir: string): Promise<ManagedRedis> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const recorded = Number(readTrimmed(join(dir, PORT_FILE)));
  const port = Number.isInteger(recorded) && recorded > 0 && (await portIsFree(recorded)) ? recorded : await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--pidfile',
      join(dir, PID_FILE),
      '--appendonly',
      'yes',
      '--maxmemory-policy',
      'noeviction',
      '--save',
      '',
    ],
    { stdio: 'ignore', detached: true },
  );
  child.unref();
  child.on('error', () => {});
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    if (await redisAnswers(url, 200)) {
      writeFileSync(join(dir, PORT_FILE), `${port}\n`);
      writeFileSync(join(dir, URL_FILE), `${url}\n`);
      return { url, pid: child.pid!, stop: () => stopManagedRedis(dir) };
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not answer within 5 seconds');
}

/**
 * The URL of the managed redis-server of `dataDir` when one answers there and is that data
 * directory's own (its `dir` setting says so): a port can be taken by another Redis meanwhile.
 */
export async function runningManagedRedis(dataDir: string): Promise<string | undefined> {
  const url = managedRedisUrl(dataDir);
  if (!url) return undefined;
  return (await withManagedRedis(dataDir, url, async () => url)) ?? undefined;
}

/**
 * Stops the managed redis-server of `dataDir`, whoever started it: the one at the URL file is
 * asked to shut down (it writes its append-only file first) once it proves to be this
 * directory's; a redis-server left under the pid file that does not answer (or did not stop) is terminated. Then
 * the URL file goes, so that nobody looks for it there.
 */
export async function stopManagedRedis(dataDir: string): Promise<void> {
  const dir = resolve(dataDir);
  const url = managedRedisUrl(dir);
  const pid = managedRedisPid(dir);
  const asked = url
    ? await withManagedRedis(dir, url, async (redis) => {
        await redis.call('SHUTDOWN').catch(() => {}); // the connection closes under the reply
        return true;
      })
    : undefined;
  const port = url ? new URL(url).port : readTrimmed(join(dir, PORT_FILE));
  if (pid !== undefined && port && isRedisServer(pid, port)) {
    // One that was asked gets time to write its append-only file; one that does not answer, none.
    if (!(asked && (await exited(pid, 10_000)))) {
      signal(pid, 'SIGTERM');
      signal(pid, 'SIGCONT'); // a frozen one handles its SIGTERM, and writes its append-only file
      if (!(await exited(pid, 5_000))) signal(pid, 'SIGKILL');
    }
  }
  if (asked && url) for (let i = 0; i < 100 && (await redisAnswers(url, 200)); i++) await sleep(50);
  rmSync(join(dir, URL_FILE), { force: true });
  rmSync(join(dir, PID_FILE), { force: true });
}

/** Runs `use` on a connection to `url` if the Redis there answers and its `dir` is `dataDir`. */
async function withManagedRedis<T>(dataDir: string, url: string, use: (redis: Redis) => Promise<T>): Promise<T | undefined> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_000,
    commandTimeout: 2_000,
    connectionName: 'orders-managed-redis',
  });
  redis.on('error', () => {});
  // A port that accepts and never answers would hold connect() for ever: probe it first, with a
  // bound; commandTimeout bounds what follows.
  if (!(await redisAnswers(url, 1_000))) return undefined;
  try {
    await redis.connect();
    const [, dir] = (await redis.config('GET', 'dir')) as string[];
    if (dir !== realpathSync(dataDir)) return undefined;
    return await use(redis);
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

/** Whether `pid` is a redis-server on `port` (it names its address in its process title). */
function isRedisServer(pid: number, port: string): boolean {
  if (!processAlive(pid)) return false;
  const command = processCommand(pid);
  return command === undefined || (command.includes('redis-server') && command.includes(`:${port}`));
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // it exited meanwhile
  }
}

async function exited(pid: number, withinMs: number): Promise<boolean> {
  for (let waited = 0; waited < withinMs; waited += 50) {
    if (!processAlive(pid)) return true;
    await sleep(50);
  }
  return !processAlive(pid);
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
