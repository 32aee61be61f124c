/**
 * The operator's actions on jobs, one set for the CLI (`orders failed`, `orders requeue`) and the
 * console (its failed jobs, its retry buttons): which jobs gave up, and moving a failed job back to
 * its queue with a fresh set of attempts once the cause is fixed. Processors check the order's
 * state before acting, so a job whose work was done since is safe to move back.
 *
 * Each caller records what it did on the order's timeline with its own actor (CLI, console), in
 * db/operator-actions.ts: this module answers which jobs moved and for which order, and never
 * writes to the database (queues/ does not import db/).
 */
import type { Job } from 'bullmq';
import type { Queues } from './queues.ts';
import { QUEUE_NAMES, type QueueName } from './routing.ts';

/** A job that gave up, as BullMQ keeps it. */
export interface FailedJob {
  queue: QueueName;
  id: string;
  orderId: string | null;
  event: string;
  /** BullMQ's `failedReason`: the last attempt's error. */
  reason: string;
  attempts: number;
  /** When it failed last (or was added, when BullMQ has no finish time), in ms since the epoch. */
  failedAt: number | null;
}

function orderIdOf(job: Job): string | null {
  const orderId = (job.data as { orderId?: unknown } | undefined)?.orderId;
  return typeof orderId === 'string' ? orderId : null;
}

function failedJob(queue: QueueName, job: Job): FailedJob {
  return {
    queue,
    id: String(job.id),
    orderId: orderIdOf(job),
    event: job.name,
    reason: job.failedReason ?? '',
    attempts: job.attemptsMade,
    failedAt: job.finishedOn ?? job.timestamp ?? null,
  };
}

export async function failedCounts(
  queues: Queues,
  names: readonly QueueName[] = QUEUE_NAMES,
): Promise<Record<QueueName, number>> {
  const counts = await Promise.all(names.map((name) => queues[name].getFailedCount()));
  return Object.fromEntries(names.map((name, i) => [name, counts[i]!])) as Record<QueueName, number>;
}

/** How many jobs failed in each queue of `names`, and the newest `perQueue` of each, queue by queue. */
export async function failedJobs(
  queues: Queues,
  names: readonly QueueName[],
  perQueue: number,
): Promise<{ counts: Record<QueueName, number>; jobs: FailedJob[] }> {
  const [counts, lists] = await Promise.all([
    failedCounts(queues, names),
    Promise.all(names.map(async (name) => (await queues[name].getFailed(0, perQueue - 1)).map((job) => failedJob(name, job)))),
  ]);
  return { counts, jobs: lists.flat() };
}

const FRESH_ATTEMPTS = { resetAttemptsMade: true, resetAttemptsStarted: true };

export type RetryOutcome = 'retried' | 'not-failed' | 'absent';

/** Moves one failed job of `queue` back with a fresh set of attempts. */
export async function retryFailedJob(queues: Queues, queue: QueueName, jobId: string): Promise<RetryOutcome> {
  const job = await queues[queue].getJob(jobId);
  if (!job) return 'absent';
  if ((await job.getState()) !== 'failed') return 'not-failed';
  try {
    await job.retry('failed', FRESH_ATTEMPTS);
  } catch (error) {
    // Another operator (or the CLI) moved it between the two reads.
    if ((await job.getState()) !== 'failed') return 'not-failed';
    throw error;
  }
  return 'retried';
}

/** A job moved back to its queue, and the order it was for. */
export interface RequeuedJob {
  queue: QueueName;
  id: string;
  orderId: string | null;
}

/** What became of requeueing one job looked for by id in several queues. */
export type RequeueOneOutcome =
  | { outcome: 'requeued'; job: RequeuedJob }
  | { outcome: 'absent' }
  | { outcome: 'not-failed'; states: { queue: QueueName; state: string }[] }
  /** Failed in more than one of the queues searched: the operator must name one. */
  | { outcome: 'ambiguous'; queues: QueueName[] };

/** Requeues the failed job `jobId`, looked for in `names`. */
export async function requeueJob(queues: Queues, names: readonly QueueName[], jobId: string): Promise<RequeueOneOutcome> {
  const found: { queue: QueueName; job: Job; state: string }[] = [];
  for (const queue of names) {
    const job = await queues[queue].getJob(jobId);
    if (job) found.push({ queue, job, state: await job.getState() });
  }
  const failed = found.filter((f) => f.state === 'failed');
  if (failed.length === 0) {
    return found.length === 0
      ? { outcome: 'absent' }
      : { outcome: 'not-failed', states: found.map(({ queue, state }) => ({ queue, state })) };
  }
  if (failed.length > 1) return { outcome: 'ambiguous', queues: failed.map((f) => f.queue) };
  const { queue, job } = failed[0]!;
  await job.retry('failed', FRESH_ATTEMPTS);
  return { outcome: 'requeued', job: { queue, id: jobId, orderId: orderIdOf(job) } };
}

export interface RequeueAllResult {
  requeued: number;
  byQueue: Partial<Record<QueueName, number>>;
  jobs: RequeuedJob[];
}

/**
 * Requeues every job of `names` failed now. The ids are read first, so that a job that fails again
 * at once is not picked up a second time; a job another operator moved meanwhile is skipped.
 */
export async function requeueAllFailed(queues: Queues, names: readonly QueueName[]): Promise<RequeueAllResult> {
  const result: RequeueAllResult = { requeued: 0, byQueue: {}, jobs: [] };
  for (const name of names) {
    const queue = queues[name];
    let moved = 0;
    for (const id of await queue.getRanges(['failed'], 0, -1)) {
      const job = await queue.getJob(id);
      if (!job) continue;
      try {
        await job.retry('failed', FRESH_ATTEMPTS);
      } catch {
        continue; // no longer failed: requeued or removed by someone else
      }
      moved++;
      result.jobs.push({ queue: name, id, orderId: orderIdOf(job) });
    }
    result.byQueue[name] = moved;
    result.requeued += moved;
  }
  return result;
}
