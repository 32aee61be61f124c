/**
 * The managed redis-server of `npm start`: it leaves its URL beside its data while it runs, so the
 * deployment's other processes and the operator CLI find the same one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Session } from '../src/cli/context.ts';
import { loadConfig } from '../src/config.ts';
import { redisAnswers } from '../src/queues/connection.ts';
import { managedRedisDir, managedRedisUrl, startManagedRedis, type ManagedRedis } from '../src/queues/managed-redis.ts';

let dir: string | undefined;
let managed: ManagedRedis | undefined;

afterEach(async () => {
  await managed?.stop();
  managed = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the managed redis-server', () => {
  it('publishes its URL while it runs, for the CLI and other processes, and withdraws it when stopped', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-managed-'));
    const config = loadConfig({ DATABASE_PATH: join(dir, 'orders.db') });
    expect(managedRedisUrl(managedRedisDir(config))).toBeUndefined();

    managed = await startManagedRedis(managedRedisDir(config));
    expect(await redisAnswers(managed.url)).toBe(true);
    expect(managedRedisUrl(join(dir, 'redis'))).toBe(managed.url);
    expect(new Session(config).redisUrl).toBe(managed.url);
    expect(new Session(loadConfig({ DATABASE_PATH: join(dir, 'orders.db'), REDIS_URL: 'redis://10.0.0.1:6390' })).redisUrl).toBe(
      'redis://10.0.0.1:6390',
    );

    await managed.stop();
    managed = undefined;
    expect(managedRedisUrl(managedRedisDir(config))).toBeUndefined();
    expect(new Session(config).redisUrl).toBe('redis://127.0.0.1:6379');
  });
});
