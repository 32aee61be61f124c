/**
 * "Settled": the outbox is drained, no job waits or runs, and every order is at rest. Shared by
 * the in-process harness and the suites that watch child processes through the database file.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import { unsentNotifications, type DbLike } from './invariants.ts';

/** Why the system is not settled yet, or '' when it is. */
export async function unsettled(db: DbLike, queues: readonly Queue[]): Promise<string> {
  const sqlite = '$client' in db ? db.$client : db;
  const pending = sqlite.prepare('SELECT count(*) AS n FROM outbox WHERE dispatched_at IS NULL').get() as { n: number };
  if (pending.n > 0) return `${pending.n} outbox rows undispatched`;
  const moving = sqlite
    .prepare(
      `SELECT id, status, payment_status, stock_status FROM orders
       WHERE status IN ('CREATED','PAYMENT_PENDING','PAID')
          OR (status IN ('FAILED','CANCELLED') AND (payment_status IN ('PENDING','REFUND_PENDING') OR stock_status = 'RESERVED'))
       LIMIT 1`,
    )
    .get();
  if (moving) return `order not at rest: ${JSON.stringify(moving)}`;
  for (const queue of queues) {
    const counts = await queue.getJobCounts('waiting', 'active', 'prioritized', 'waiting-children');
    const busy = Object.values(counts).reduce((a, b) => a + b, 0);
    if (busy > 0) return `queue ${queue.name} has ${JSON.stringify(counts)}`;
  }
  return '';
}

/** Waits until settled; with `owedMessages`, also until every message owed has been sent. */
export async function waitUntilSettled(
  db: DbLike,
  queues: readonly Queue[],
  { timeoutMs = 30_000, owedMessages = false }: { timeoutMs?: number; owedMessages?: boolean } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let why = '';
  while (Date.now() < deadline) {
    why = await unsettled(db, queues);
    if (!why && owedMessages) why = unsentNotifications(db)[0] ?? '';
    if (!why) return;
    await sleep(50);
  }
  throw new Error(`did not settle in ${timeoutMs} ms: ${why}`);
}
