/**
 * The storage engine a test runs on, and a fresh PostgreSQL database for it on the run's private
 * server (test/support/global-postgres.ts). The suite runs once per engine, one vitest project each.
 */
import { inject } from 'vitest';
import { createDatabase } from './postgres-server.ts';

export type TestStore = 'sqlite' | 'postgres';

/** The engine of this test run: TEST_STORE, set by the vitest project; SQLite when unset. */
export function testStore(): TestStore {
  const store = process.env.TEST_STORE ?? 'sqlite';
  if (store !== 'sqlite' && store !== 'postgres') throw new Error(`TEST_STORE must be sqlite or postgres, not ${store}`);
  return store;
}

/** Creates a fresh, uniquely named, empty database on the private PostgreSQL server and returns its URL. */
export async function testDatabaseUrl(): Promise<string> {
  const adminUrl = inject('postgresUrl');
  if (!adminUrl) throw new Error('no private PostgreSQL server in this run: run the postgres project (TEST_STORE=postgres)');
  return createDatabase(adminUrl);
}
