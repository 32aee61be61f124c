/**
 * drizzle-kit's settings for the SQLite migrations (drizzle/sqlite/), generated from the SQLite
 * tables; the PostgreSQL migrations have their own settings (drizzle.postgres.config.ts).
 */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: [
    './src/db/tables/sqlite.ts',
    './src/sandbox/tables/sqlite.ts',
    './src/db/tables/operations/sqlite.ts',
    './src/db/tables/webhooks/sqlite.ts',
    './src/db/tables/money-back/sqlite.ts',
  ],
  out: './drizzle/sqlite',
  dbCredentials: { url: process.env.DATABASE_PATH ?? 'data/orders.db' },
});
