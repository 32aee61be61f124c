/**
 * Who did what to an order, and when: every operator action (a cancel, a retry or requeue of one
 * of its jobs, a re-drive) with its actor (`api-key:<id>`, `admin`, `cli`, `reconciler`) and what
 * came of it. The order's pages show them on its timeline, beside its own events.
 */
import { asc, eq } from 'drizzle-orm';
import { writeTx, type Db } from './client.ts';
import type { OperatorAction } from './tables/operations/values.ts';

export type { OperatorAction } from './tables/operations/values.ts';

export interface OperatorActionRecord {
  orderId: string;
  action: OperatorAction;
  actor: string;
  jobId?: string | null;
  outcome: string;
  at: number;
}

/** Records actions, in one transaction (a bulk retry records one per job). */
export async function recordOperatorActions(db: Db, records: readonly OperatorActionRecord[]): Promise<void> {
  if (records.length === 0) return;
  await writeTx(db, async (tx) => {
    await tx.insert(tx.tables.operatorActions).values(records.map((r) => ({ ...r, jobId: r.jobId ?? null })));
  });
}

export function recordOperatorAction(db: Db, record: OperatorActionRecord): Promise<void> {
  return recordOperatorActions(db, [record]);
}

/** An order's actions, oldest first. */
export async function operatorActionsOf(db: Db, orderId: string) {
  const { operatorActions } = db.tables;
  return db
    .select({
      action: operatorActions.action,
      actor: operatorActions.actor,
      jobId: operatorActions.jobId,
      outcome: operatorActions.outcome,
      at: operatorActions.at,
    })
    .from(operatorActions)
    .where(eq(operatorActions.orderId, orderId))
    .orderBy(asc(operatorActions.id));
}
export type OperatorActionView = Awaited<ReturnType<typeof operatorActionsOf>>[number];
