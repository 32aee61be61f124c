/**
 * Starts and stops real redis-server processes for tests (which also lets a test kill one and
 * start an empty one on the same port).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisAnswers } from '../../src/queues/connection.ts';
import { freePort } from '../../src/queues/managed-redis.ts';

export interface TestRedis {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startRedisServer(port?: number, { evictionPolicy = 'noeviction' } = {}): Promise<TestRedis> {
  const chosen = port ?? (await freePort());
  const child = spawn(
    'redis-server',
    ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', evictionPolicy],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${chosen}`;
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
