/**
 * A service that cannot finish starting lets go of what it already took: here the API's port is
 * held by another process after the database opened and Redis connected, and the failed start
 * leaves no database connection and no Redis connection behind (a process that retries, or a
 * test that goes on, does not leak them).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { ListenError } from '../src/http-server.ts';
import { startService } from '../src/service.ts';
import { storeEnv, type StoreEnv } from './support/store.ts';
import { testStore } from './support/test-database.ts';

let dir: string;
let taken: Server;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orders-start-'));
  taken = createServer();
  taken.listen(0, '127.0.0.1');
  await once(taken, 'listening');
});

afterAll(() => {
  taken?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Backends connected to the database `url` names, as the server sees them. */
async function backendsOn(url: string): Promise<number> {
  const admin = new pg.Client({ connectionString: inject('postgresUrl') });
  await admin.connect();
  try {
    const name = decodeURIComponent(new URL(url).pathname.slice(1));
    const { rows } = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
    return rows[0].n as number;
  } finally {
    await admin.end();
  }
}

/** True once `check` holds, within a generous deadline (a closed backend leaves the server's view shortly after). */
async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(50);
  }
  return check();
}

it('a port already taken fails the start, and the database and Redis connections opened before it are released', async () => {
  const store: StoreEnv = await storeEnv(dir);
  const port = (taken.address() as AddressInfo).port;
  const config = loadConfig({
    ...store,
    QUEUE_PREFIX: `t${randomBytes(6).toString('hex')}`,
    PORT: String(port),
    ROLE: 'all',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  });
  const connections: Redis[] = [];
  const start = startService(config, inject('redisUrl'), createLogger(config.logLevel), {
    onRedisConnection: (connection) => connections.push(connection),
  });

  await expect(start).rejects.toThrow(ListenError);
  await expect(start).rejects.toThrow(`PORT=${port}: 127.0.0.1:${port} is already in use by another process`);

  // What started before the listener did start: the database (migrated) and both Redis connections.
  expect(connections).toHaveLength(2);
  expect(await eventually(() => connections.every((c) => c.status === 'end'))).toBe(true);
  if (testStore() === 'postgres') {
    expect(await eventually(async () => (await backendsOn(store.DATABASE_URL!)) === 0)).toBe(true);
  } else {
    expect(existsSync(store.DATABASE_PATH)).toBe(true);
    // SQLite removes the write-ahead log when the last connection to the file closes.
    expect(existsSync(`${store.DATABASE_PATH}-wal`)).toBe(false);
  }
});
