import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: ['./src/db/schema.ts', './src/sandbox/schema.ts'],
  out: './drizzle',
  dbCredentials: { url: process.env.DATABASE_PATH ?? 'data/orders.db' },
});
