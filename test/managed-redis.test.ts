/**
 * The managed redis-server of `npm start`: it leaves its URL beside its data while it runs, so the
 * deployment's other processes and the operator CLI find the same one.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Session } from '../src/cli/context.ts';
import { loadConfig } from '../src/config.ts';
import { redisAnswers } from '../src/queues/connection.ts';
import { managedRedisDir, managedRedisUrl, startManagedRedis, type ManagedRedis } from '../src/redis-server/managed-redis.ts';
import { FollowedConnections } from '../src/redis-server/redis-follow.ts';
import { startRedisServer, type TestRedis } from './support/redis-server.ts';

let dir: string | undefined;
let managed: ManagedRedis | undefined;
let servers: TestRedis[] = [];

afterEach(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  servers = [];
  await managed?.stop();
  managed = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the managed redis-server', () => {
  it('publishes its URL while it runs, for the CLI and other processes, and withdraws it when stopped', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-managed-'));
    const config = loadConfig({ DATABASE_PATH: join(dir, 'orders.db') });
    expect(managedRedisUrl(managedRedisDir(config.store))).toBeUndefined();

    managed = await startManagedRedis(managedRedisDir(config.store));
    expect(await redisAnswers(managed.url)).toBe(true);
    expect(managedRedisUrl(join(dir, 'redis'))).toBe(managed.url);
    expect(new Session(config).redisUrl).toBe(managed.url);
    expect(new Session(loadConfig({ DATABASE_PATH: join(dir, 'orders.db'), REDIS_URL: 'redis://10.0.0.1:6390' })).redisUrl).toBe(
      'redis://10.0.0.1:6390',
    );

    await managed.stop();
    managed = undefined;
    expect(managedRedisUrl(managedRedisDir(config.store))).toBeUndefined();
    expect(new Session(config).redisUrl).toBe('redis://127.0.0.1:6379');
  });

  it('moves a connection, and every connection duplicated from it, to a new address', async () => {
    const [from, to] = await Promise.all([startRedisServer(), startRedisServer()]);
    servers = [from!, to!];
    const connections = new FollowedConnections();
    const original = new Redis(from!.url, { maxRetriesPerRequest: null });
    connections.add(original);
    const duplicate = original.duplicate({ connectionName: 'copy' });
    const copyOfCopy = duplicate.duplicate();
    const all = [original, duplicate, copyOfCopy];
    for (const c of all) c.on('error', () => {});
    expect(connections.size).toBe(3);
    for (const c of all) expect(await c.config('GET', 'port')).toEqual(['port', String(from!.port)]);

    await from!.stop();
    connections.moveTo(to!.url);
    for (const c of all) expect(await c.config('GET', 'port')).toEqual(['port', String(to!.port)]);

    const ended = all.map((c) => once(c, 'end'));
    await Promise.all(all.map((c) => c.quit()));
    await Promise.all(ended);
    expect(connections.size).toBe(0);
  });
});
