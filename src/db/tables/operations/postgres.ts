/**
 * The tables of ./sqlite.ts in PostgreSQL, with the same row types (test/tables.test.ts): operator
 * actions and failed attempts, beside an order's timeline.
 */
import { bigint, check, index, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { oneOf } from '../one-of.ts';
import { OPERATOR_ACTIONS } from './values.ts';

const big = (name: string) => bigint(name, { mode: 'number' });

export const operatorActions = pgTable(
  'operator_actions',
  {
    id: big('id').primaryKey().generatedByDefaultAsIdentity(),
    orderId: text('order_id').notNull(),
    action: text('action', { enum: OPERATOR_ACTIONS }).notNull(),
    actor: text('actor').notNull(),
    jobId: text('job_id'),
    outcome: text('outcome').notNull(),
    at: big('at').notNull(),
  },
  (t) => [
    index('operator_actions_order_idx').on(t.orderId, t.id),
    check('operator_actions_action_known', oneOf(t.action, OPERATOR_ACTIONS)),
  ],
);

export const failedAttempts = pgTable(
  'failed_attempts',
  {
    id: big('id').primaryKey().generatedByDefaultAsIdentity(),
    orderId: text('order_id').notNull(),
    queue: text('queue').notNull(),
    jobId: text('job_id').notNull(),
    event: text('event').notNull(),
    attempt: integer('attempt').notNull(),
    error: text('error').notNull(),
    at: big('at').notNull(),
  },
  (t) => [index('failed_attempts_order_idx').on(t.orderId, t.id), index('failed_attempts_job_idx').on(t.jobId, t.id)],
);
