import { configDefaults, defineConfig } from 'vitest/config';

/** Every test file, run once per storage engine. */
const TEST_FILES = ['test/**/*.test.ts', 'src/**/*.test.ts'];

/**
 * Files that never open a database (pure code, the import graph, config parsing): running them a
 * second time on PostgreSQL would prove nothing new.
 */
const STORE_INDEPENDENT_FILES = [
  'src/domain/order-machine.test.ts',
  'test/layers.test.ts',
  'test/text.test.ts',
  'test/config*.test.ts',
  'test/failure-policy.test.ts',
  'src/db/engines/driver-failures.test.ts',
  'test/event-routing.test.ts',
  'test/tracing.test.ts',
  'test/build.test.ts',
  'test/lint.test.ts',
];

/** Checks the private PostgreSQL server, or needs it as a copy's target: nothing to run on SQLite. */
const POSTGRES_ONLY_FILES = ['test/postgres-server.test.ts', 'test/copy-to-postgres.test.ts'];

/** What both projects share; projects do not inherit the root's options (nor, so, its global setup). */
const PER_PROJECT = { include: TEST_FILES, testTimeout: 60_000, hookTimeout: 60_000 };

export default defineConfig({
  test: {
    // One private redis-server and, when the postgres project runs, one private PostgreSQL per run.
    globalSetup: ['test/support/global-redis.ts', 'test/support/global-postgres.ts'],
    // Two cores: files run two at a time, each on its own database and queue prefix.
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'sqlite',
          ...PER_PROJECT,
          exclude: [...configDefaults.exclude, ...POSTGRES_ONLY_FILES],
          env: { TEST_STORE: 'sqlite' },
        },
      },
      {
        test: {
          name: 'postgres',
          ...PER_PROJECT,
          exclude: [...configDefaults.exclude, ...STORE_INDEPENDENT_FILES],
          env: { TEST_STORE: 'postgres' },
        },
      },
    ],
  },
});
