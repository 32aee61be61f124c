/**
 * "Settled": the outbox is drained, no job waits or runs, and every order is at rest. Shared by
 * the in-process harness and the suites that watch child processes through the database file.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import { HELD_STOCK, SERVICE_STATUSES, TERMINAL_STATUSES, UNSETTLED_PAYMENTS } from '../../src/domain/order-machine.ts';
import type { Db } from '../../src/db/client.ts';
import { unsentNotifications } from './invariants.ts';
import { sqlNumber, sqlRow } from './store.ts';

const list = (words: readonly string[]) => words.map((w) => `'${w}'`).join(',');

/**
 * Not at rest, the carrier aside: waiting on the service, or ended with a payment or stock to
 * settle (order-machine.ts `isAtRest`, `waitsOnOutside`), as SQL over the domain's lists.
 */
const NOT_AT_REST = `status IN (${list(SERVICE_STATUSES)})
   OR (status IN (${list(TERMINAL_STATUSES)}) AND (payment_status IN (${list(UNSETTLED_PAYMENTS)}) OR stock_status IN (${list(HELD_STOCK)})))`;

/** Why the system is not settled yet, or '' when it is. */
export async function unsettled(db: Db, queues: readonly Queue[]): Promise<string> {
  const pending = await sqlNumber(db, 'SELECT count(*) AS n FROM outbox WHERE dispatched_at IS NULL');
  if (pending > 0) return `${pending} outbox rows undispatched`;
  const moving = await sqlRow(
    db,
    `SELECT id, status, payment_status, stock_status FROM orders
     WHERE ${NOT_AT_REST}
     LIMIT 1`,
  );
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
  db: Db,
  queues: readonly Queue[],
  { timeoutMs = 30_000, owedMessages = false }: { timeoutMs?: number; owedMessages?: boolean } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let why = '';
  while (Date.now() < deadline) {
    why = await unsettled(db, queues);
    if (!why && owedMessages) why = (await unsentNotifications(db))[0] ?? '';
    if (!why) return;
    await sleep(50);
  }
  throw new Error(`did not settle in ${timeoutMs} ms: ${why}`);
}
