/**
 * One private PostgreSQL server for the postgres project (its `env` has TEST_STORE=postgres),
 * started only when that project runs: a SQLite-only run does not need the binaries.
 * Tests get their own database on it through test/support/test-database.ts.
 */
import type { TestProject } from 'vitest/node';
import { startPostgresServer } from './postgres-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the private server's `postgres` database; absent when no project needs it. */
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject) {
  // The postgres project's setup (vitest.config.ts); a project storing elsewhere needs no server.
  if (project.config.env?.TEST_STORE !== 'postgres') return;
  const postgres = await startPostgresServer();
  project.provide('postgresUrl', postgres.url);
  return async () => {
    await postgres.stop();
  };
}
