/**
 * drizzle-kit's settings for the PostgreSQL migrations (drizzle/postgres/), generated from the
 * PostgreSQL tables. Generating needs no database; the URL is only for drizzle-kit's other commands.
 */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: [
    './src/db/tables/postgres.ts',
    './src/sandbox/tables/postgres.ts',
    './src/db/tables/operations/postgres.ts',
    './src/db/tables/webhooks/postgres.ts',
    './src/db/tables/money-back/postgres.ts',
  ],
  out: './drizzle/postgres',
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/orders' },
});
