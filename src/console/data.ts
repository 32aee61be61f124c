/**
 * What each console page shows, gathered from the database (always) and from Redis (when it
 * answers within the deadline of queues/inspect.ts).
 */
import type { Db } from '../db/client.ts';
import { countStuck, isStuck, listOrders, outboxOf, sentMessages } from '../db/order-list.ts';
import { countOrdersByStatus } from '../db/order-stats.ts';
import { failedAttemptsOf } from '../db/failed-attempts.ts';
import { deliveriesOfOrder } from '../db/webhook-deliveries.ts';
import { listEndpoints } from '../db/webhook-endpoints.ts';
import { operatorActionsOf } from '../db/operator-actions.ts';
import { findOrder, getTimeline, orderItemsOf } from '../db/orders.ts';
import { OUTBOX_EVENTS, type OutboxEvent } from '../domain/events.ts';
import { isAtRest, isTerminal } from '../domain/order-machine.ts';
import { ask, jobsOf, recentFailedJobs, type Answer, type JobSummary } from '../queues/inspect.ts';
import { failedCounts } from '../queues/job-actions.ts';
import type { Queues } from '../queues/queues.ts';

export interface ConsoleDeps {
  db: Db;
  /** Absent where this process has no queues: the pages say so instead of showing jobs. */
  queues?: Queues;
  now: () => number;
  stuckAfterMs: number;
  /** Kicks the outbox relay after an action wrote events. */
  onCommit: () => void;
}

const NO_QUEUES: Answer<never> = { ok: false, error: 'This process has no queues.' };

export const HOME_LIST_SIZE = 10;
const FAILED_PER_QUEUE = 5;

/** The counts of the home page, which its script also refreshes. */
export async function consoleCounts(deps: ConsoleDeps) {
  const failed = deps.queues ? await ask(() => failedCounts(deps.queues!)) : NO_QUEUES;
  const ordersByStatus = await countOrdersByStatus(deps.db);
  return {
    ordersByStatus,
    total: Object.values(ordersByStatus).reduce((a, b) => a + b, 0),
    stuck: await countStuck(deps.db, deps.now() - deps.stuckAfterMs),
    stuckAfterMs: deps.stuckAfterMs,
    failedJobs: failed.ok ? failed.value : null,
    redisError: failed.ok ? null : failed.error,
  };
}

/**
 * Whether a failed job still wants an operator: not when its order has ended since, with nothing
 * left to settle, for then a retry would find nothing to do. A message is the exception: one
 * still owed is sent to an ended order too.
 */
export function needsAttention(job: Pick<JobSummary, 'queue'>, order: Parameters<typeof isAtRest>[0] | undefined): boolean {
  if (!order || job.queue === 'notification') return true;
  return !(isTerminal(order.status) && isAtRest(order));
}

export async function homeData(deps: ConsoleDeps) {
  const now = deps.now();
  const [counts, failed] = await Promise.all([
    consoleCounts(deps),
    deps.queues ? ask(() => recentFailedJobs(deps.queues!, FAILED_PER_QUEUE)) : NO_QUEUES,
  ]);
  // Split by whether the job's order still needs it (read from the database, not Redis).
  let failedJobs: Answer<JobSummary[]> = failed;
  let settledFailedJobs: JobSummary[] = [];
  if (failed.ok) {
    const orders = new Map(
      await Promise.all(
        [...new Set(failed.value.flatMap((job) => (job.orderId ? [job.orderId] : [])))].map(
          async (id) => [id, await findOrder(deps.db, id)] as const,
        ),
      ),
    );
    const open = failed.value.filter((job) => needsAttention(job, job.orderId ? orders.get(job.orderId) : undefined));
    failedJobs = { ok: true, value: open };
    settledFailedJobs = failed.value.filter((job) => !open.includes(job));
  }
  return {
    now,
    counts,
    failedJobs,
    settledFailedJobs,
    stuck: (await listOrders(deps.db, { stuckBefore: now - deps.stuckAfterMs, limit: HOME_LIST_SIZE })).orders,
    recent: (await listOrders(deps.db, { limit: HOME_LIST_SIZE })).orders,
  };
}
export type HomeData = Awaited<ReturnType<typeof homeData>>;

import { listRefunds } from '../db/refunds.ts';
import { listReturns } from '../db/returns.ts';
import { refundableCents } from '../domain/refunds.ts';

const IS_OUTBOX_EVENT = new Set<string>(OUTBOX_EVENTS);

export async function orderData(deps: ConsoleDeps, orderId: string) {
  const order = await findOrder(deps.db, orderId);
  if (!order) return undefined;
  const now = deps.now();
  const timeline = await getTimeline(deps.db, orderId);
  const outbox = await outboxOf(deps.db, orderId);
  // The outbox forgets dispatched rows after a while; the timeline keeps the order's own events.
  const events = [...outbox.map((row) => ({ type: row.type, outboxId: row.id })), ...timeline.map((entry) => entry.type)].filter(
    (e): e is OutboxEvent | { type: OutboxEvent; outboxId: number } => IS_OUTBOX_EVENT.has(typeof e === 'string' ? e : e.type),
  );
  const jobs = deps.queues ? await ask(() => jobsOf(deps.queues!, orderId, events)) : NO_QUEUES;
  return {
    now,
    order: { ...order, items: await orderItemsOf(deps.db, orderId) },
    stuck: await isStuck(deps.db, orderId, now - deps.stuckAfterMs),
    stuckAfterMs: deps.stuckAfterMs,
    timeline,
    waitingForRelay: outbox.filter((row) => row.dispatchedAt === null).map((row) => row.type),
    jobs,
    messages: await sentMessages(deps.db, orderId),
    actions: await operatorActionsOf(deps.db, orderId),
    attempts: await failedAttemptsOf(deps.db, orderId),
    webhooks: await webhooksOf(deps.db, orderId),
    refunds: await listRefunds(deps.db, orderId),
    returns: await listReturns(deps.db, orderId),
    refundableCents: refundableCents(order),
  };
}

/** What was delivered where for the order, with each endpoint's name. */
async function webhooksOf(db: Db, orderId: string) {
  const deliveries = await deliveriesOfOrder(db, orderId);
  const endpoints = deliveries.length === 0 ? [] : await listEndpoints(db);
  return { deliveries, endpoints: new Map(endpoints.map((e) => [e.id, e.description ?? e.url])) };
}
export type OrderData = NonNullable<Awaited<ReturnType<typeof orderData>>>;
