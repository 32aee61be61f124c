/**
 * Starts and stops real redis-server processes for tests (which also lets a test kill one and
 * start an empty one on the same port), on 127.0.0.1 or inside a test host on its address.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisAnswers } from '../../src/queues/connection.ts';
import { freePort } from '../../src/redis-server/managed-redis.ts';
import type { Spawner } from './hosts.ts';

export interface TestRedis {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  evictionPolicy?: string;
  /** The address to bind and to give clients (in `url`); default 127.0.0.1. */
  host?: string;
  /** Starts the server; default `child_process.spawn`. A test host's `spawner` runs it in that host. */
  spawn?: Spawner;
  /** Its working directory, where a replication's RDB file goes; default the process's. */
  dir?: string;
}

export async function startRedisServer(
  port?: number,
  { evictionPolicy = 'noeviction', host = '127.0.0.1', spawn: launcher = spawn, dir }: RedisServerOptions = {},
): Promise<TestRedis> {
  const chosen = port ?? (await freePort());
  // Protected mode refuses clients from other addresses when there is no password: the ones a
  // server bound to a host's address is there for.
  const protectedMode = host === '127.0.0.1' ? [] : ['--protected-mode', 'no'];
  const child = launcher(
    'redis-server',
    [
      '--port',
      String(chosen),
      '--bind',
      host,
      ...protectedMode,
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      evictionPolicy,
      ...(dir ? ['--dir', dir] : []),
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://${host}:${chosen}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${chosen} exited with ${child.exitCode}`);
    if (await redisAnswers(url, 200)) {
      return {
        url,
        port: chosen,
        process: child,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((done) => child.once('exit', done));
          child.kill('SIGKILL');
          await exited;
        },
      };
    }
    await sleep(25);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${chosen} did not answer`);
}
