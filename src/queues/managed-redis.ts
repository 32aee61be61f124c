/**
 * The embedded default: when no Redis is configured or answering, start `redis-server` as a child
 * process with its data under data/, configured as a queue store should be (append-only file,
 * no eviction). Its URL is written beside its data while it runs, so that the other processes of
 * the deployment (a worker started with `npm start`, the operator CLI) find the same one.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisAnswers } from './connection.ts';

export interface ManagedRedis {
  url: string;
  stop(): Promise<void>;
}

const URL_FILE = 'redis.url';

/** Where the managed redis-server keeps its data: `redis/` beside the database file. */
export function managedRedisDir(config: { databasePath: string }): string {
  return join(dirname(resolve(config.databasePath)), 'redis');
}

/** The URL a managed redis-server running on `dataDir` wrote, if any (it may have died since). */
export function managedRedisUrl(dataDir: string): string | undefined {
  try {
    return readFileSync(join(resolve(dataDir), URL_FILE), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
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

export async function startManagedRedis(dataDir: string): Promise<ManagedRedis> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--appendonly', 'yes',
      '--maxmemory-policy', 'noeviction',
      '--save', '',
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    if (await redisAnswers(url, 200)) {
      const urlFile = join(dir, URL_FILE);
      writeFileSync(urlFile, `${url}\n`);
      return {
        url,
        async stop() {
          if (managedRedisUrl(dir) === url) rmSync(urlFile, { force: true });
          if (child.exitCode !== null) return;
          const exited = new Promise((done) => child.once('exit', done));
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not answer within 5 seconds');
}
