/**
 * The private PostgreSQL server the postgres project runs on: it is not the shared one, hands out
 * empty databases, keeps its data across a crash and a restart, and can be made to hang.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startPostgresServer, type TestPostgres } from './support/postgres-server.ts';
import { testDatabaseUrl, testStore } from './support/test-database.ts';

/** Runs `fn` on a client connected to `url`, then disconnects. */
async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The tables of the public schema of the database at `url`. */
async function tables(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const result = await client.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    return result.rows.map((row) => row.tablename);
  });
}

describe('the run-wide private server', () => {
  it('is the engine of this project, on its own port, never the shared 5432', async () => {
    expect(testStore()).toBe('postgres');
    const admin = new URL(inject('postgresUrl'));
    expect(admin.hostname).toBe('127.0.0.1');
    expect(admin.port).not.toBe('5432');
    expect(Number(admin.port)).toBeGreaterThan(0);
  });

  it('gives each test a fresh, empty database of its own', async () => {
    const first = await testDatabaseUrl();
    const second = await testDatabaseUrl();
    expect(first).not.toBe(second);
    expect(await tables(first)).toEqual([]);
    await withClient(first, (client) => client.query('CREATE TABLE orders (id text PRIMARY KEY)'));
    expect(await tables(first)).toEqual(['orders']);
    expect(await tables(second)).toEqual([]);
  });
});

describe('a server of its own', () => {
  let server: TestPostgres;

  beforeAll(async () => {
    server = await startPostgresServer();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('hands out empty databases by name', async () => {
    const url = await server.createDatabase('orders_by_name');
    expect(new URL(url).pathname).toBe('/orders_by_name');
    expect(new URL(url).port).toBe(String(server.port));
    expect(await tables(url)).toEqual([]);
  });

  it('keeps committed data across a crash of the postmaster and a restart on the same port', async () => {
    const url = await server.createDatabase();
    await withClient(url, async (client) => {
      await client.query('CREATE TABLE orders (id text PRIMARY KEY)');
      await client.query("INSERT INTO orders VALUES ('o-1')");
    });
    // A connection open through the crash: its backend outlives the postmaster for a moment.
    const survivor = new pg.Client({ connectionString: url });
    survivor.on('error', () => {});
    await survivor.connect();
    await server.kill();
    await expect(tables(url)).rejects.toThrow();
    await server.restart();
    await expect(survivor.query('SELECT 1')).rejects.toThrow();
    await survivor.end().catch(() => {});
    expect(new URL(server.url).port).toBe(String(server.port));
    const ids = await withClient(url, (client) => client.query<{ id: string }>('SELECT id FROM orders'));
    expect(ids.rows).toEqual([{ id: 'o-1' }]);
  });

  it('answers nothing while frozen, and finishes the waiting query once thawed', async () => {
    const url = await server.createDatabase();
    await withClient(url, async (client) => {
      server.freeze();
      try {
        const query = client.query<{ answer: number }>('SELECT 42 AS answer');
        const outcome = await Promise.race([query.then(() => 'answered'), sleep(500).then(() => 'timed out')]);
        expect(outcome).toBe('timed out');
        server.thaw();
        expect((await query).rows).toEqual([{ answer: 42 }]);
      } finally {
        server.thaw();
      }
    });
  });

  it('stops and leaves no data directory behind', async () => {
    const other = await startPostgresServer();
    expect(existsSync(other.dataDir)).toBe(true);
    await other.stop();
    expect(existsSync(other.dataDir)).toBe(false);
    await expect(tables(other.url)).rejects.toThrow();
  });
});
