/**
 * One private PostgreSQL server per test run, started only when a project of the run stores in
 * PostgreSQL (its `env` has TEST_STORE=postgres): a SQLite-only run does not need the binaries.
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

/** True when `project`, or any project of its run, stores in PostgreSQL. */
function runNeedsPostgres(project: TestProject): boolean {
  // The root config's setup gets the root project; `vitest.projects` are the ones this run selected (--project).
  return [project, ...project.vitest.projects].some((p) => p.config.env?.TEST_STORE === 'postgres');
}

export default async function setup(project: TestProject) {
  if (!runNeedsPostgres(project)) return;
  const postgres = await startPostgresServer();
  project.provide('postgresUrl', postgres.url);
  return async () => {
    await postgres.stop();
  };
}
