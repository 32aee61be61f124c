/**
 * What operators and retries leave beside an order's timeline, in SQLite: each operator action
 * (who did what, when) and each failed attempt of a job (bounded per job). Apart from the order's
 * own tables so that the lifecycle's writers never touch them; drizzle-kit reads this module
 * beside src/db/tables/sqlite.ts (drizzle.config.ts). The same tables in PostgreSQL: ./postgres.ts.
 */
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { OPERATOR_ACTIONS } from './values.ts';

export const operatorActions = sqliteTable(
  'operator_actions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    orderId: text('order_id').notNull(),
    action: text('action', { enum: OPERATOR_ACTIONS }).notNull(),
    /** `api-key:<id>`, `admin`, `cli` or `reconciler`. */
    actor: text('actor').notNull(),
    /** The job acted on, for a retry or a requeue. */
    jobId: text('job_id'),
    /** What came of it: `cancelled`, `retried`, `refused: …`. */
    outcome: text('outcome').notNull(),
    at: integer('at').notNull(),
  },
  (t) => [index('operator_actions_order_idx').on(t.orderId, t.id)],
);

export const failedAttempts = sqliteTable(
  'failed_attempts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    orderId: text('order_id').notNull(),
    queue: text('queue').notNull(),
    jobId: text('job_id').notNull(),
    event: text('event').notNull(),
    attempt: integer('attempt').notNull(),
    error: text('error').notNull(),
    at: integer('at').notNull(),
  },
  (t) => [index('failed_attempts_order_idx').on(t.orderId, t.id), index('failed_attempts_job_idx').on(t.jobId, t.id)],
);
