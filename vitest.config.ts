import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The fast tier: pure tests beside their modules (the lifecycle grid, text hygiene, failure policy,
 * routing, config, tracing) and the layer test, which reads the import graph. No global setup:
 * `npx vitest run --project unit` answers in seconds without starting a server.
 */
const UNIT_FILES = ['src/**/*.test.ts', 'test/layers.test.ts'];

/** Everything else runs against real servers, once per storage engine. */
const SERVER_FILES = ['test/**/*.test.ts'];

/**
 * Files under test/ that never open a database (building, linting): running them a second time on
 * PostgreSQL would prove nothing new.
 */
const STORE_INDEPENDENT_FILES = ['test/build.test.ts', 'test/lint.test.ts'];

/**
 * Checks the private PostgreSQL server, or needs it beside a SQLite file (a copy's target, a
 * process holding both engines): nothing more to run on SQLite.
 */
const POSTGRES_ONLY_FILES = ['test/postgres-server.test.ts', 'test/copy-to-postgres.test.ts', 'test/both-engines.test.ts'];

/** Source trees the layer test reads, not tests. */
const FIXTURES = ['test/fixtures/**'];

/** What the server projects share; projects do not inherit the root's options. */
const PER_PROJECT = { include: SERVER_FILES, testTimeout: 60_000, hookTimeout: 60_000 };

export default defineConfig({
  test: {
    // Two cores: files run two at a time, each on its own database and queue prefix.
    maxWorkers: 2,
    projects: [
      {
        test: { name: 'unit', include: UNIT_FILES, testTimeout: 30_000 },
      },
      {
        test: {
          name: 'sqlite',
          ...PER_PROJECT,
          // One private redis-server for the project's files.
          globalSetup: ['test/support/global-redis.ts'],
          exclude: [...configDefaults.exclude, ...FIXTURES, ...UNIT_FILES, ...POSTGRES_ONLY_FILES],
          env: { TEST_STORE: 'sqlite' },
        },
      },
      {
        test: {
          name: 'postgres',
          ...PER_PROJECT,
          // One private redis-server and one private PostgreSQL server for the project's files.
          globalSetup: ['test/support/global-redis.ts', 'test/support/global-postgres.ts'],
          exclude: [...configDefaults.exclude, ...FIXTURES, ...UNIT_FILES, ...STORE_INDEPENDENT_FILES],
          env: { TEST_STORE: 'postgres' },
        },
      },
    ],
  },
});
