/**
 * What the operations console asks BullMQ: failed jobs per queue, the jobs of one order (found by
 * their deterministic ids), and a retry. Every read is bounded by a deadline: a page shows what it
 * knows when Redis is down or frozen instead of waiting on it.
 */
import type { Job } from 'bullmq';
import { withDeadline } from '../lib/deadline.ts';
import type { JobPayload, OutboxEvent } from '../domain/events.ts';
import type { Queues } from './queues.ts';
import { QUEUE_NAMES, ROUTES, jobIdFor, type QueueName } from './routing.ts';

/** How long a page waits on Redis before it renders without it. */
const REDIS_DEADLINE_MS = 2_000;

class RedisDeadlineError extends Error {
  override readonly name = 'RedisDeadlineError';
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`);
  }
}

/** What Redis told us, or why it told us nothing. */
export type Answer<T> = { ok: true; value: T } | { ok: false; error: string };

export async function ask<T>(work: () => Promise<T>, ms = REDIS_DEADLINE_MS): Promise<Answer<T>> {
  try {
    return { ok: true, value: await withDeadline(work(), ms, () => new RedisDeadlineError(ms)) };
  } catch (err) {
    return { ok: false, error: err instanceof RedisDeadlineError ? err.message : `Redis refused: ${(err as Error).message}` };
  }
}

export interface JobSummary {
  queue: QueueName;
  id: string;
  event: string;
  orderId: string | null;
  /** BullMQ's state, or `absent` when Redis has no job by this id (never sent, or removed). */
  state: string;
  attempts: number;
  lastError: string | null;
  /** When it was added, finished or failed last, in ms since the epoch. */
  finishedAt: number | null;
}

function summary(queue: QueueName, job: Job<JobPayload>, state: string): JobSummary {
  return {
    queue,
    id: String(job.id),
    event: job.name,
    orderId: typeof job.data?.orderId === 'string' ? job.data.orderId : null,
    state,
    attempts: job.attemptsMade,
    lastError: job.failedReason || null,
    finishedAt: job.finishedOn ?? null,
  };
}

export async function failedCounts(queues: Queues): Promise<Record<QueueName, number>> {
  const counts = await Promise.all(QUEUE_NAMES.map((name) => queues[name].getFailedCount()));
  return Object.fromEntries(QUEUE_NAMES.map((name, i) => [name, counts[i]!])) as Record<QueueName, number>;
}

/** The most recent failed jobs of every queue, newest first, at most `perQueue` of each. */
export async function recentFailedJobs(queues: Queues, perQueue: number): Promise<JobSummary[]> {
  const lists = await Promise.all(
    QUEUE_NAMES.map(async (name) => (await queues[name].getFailed(0, perQueue - 1)).map((job) => summary(name, job, 'failed'))),
  );
  return lists.flat().sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0));
}

/** The jobs `events` of an order give rise to, one per routed queue, as Redis knows them. */
export async function jobsOf(queues: Queues, orderId: string, events: readonly OutboxEvent[]): Promise<JobSummary[]> {
  const wanted = [...new Set(events)].flatMap((event) => ROUTES[event].map((queue) => ({ event, queue })));
  return Promise.all(
    wanted.map(async ({ event, queue }): Promise<JobSummary> => {
      const id = jobIdFor(orderId, event, queue);
      return (
        (await stableRead(queues, queue, id)) ?? {
          queue,
          id,
          event,
          orderId,
          state: 'absent',
          attempts: 0,
          lastError: null,
          finishedAt: null,
        }
      );
    }),
  );
}

/** How many times a read is tried again when the job moved under it. */
const STABLE_READ_TRIES = 3;

/**
 * A job's fields and its state, read as one: the state is read before and after the job's hash,
 * and the read is made again while they differ. A job retried between two reads would otherwise
 * show the old attempts and error beside its new state.
 */
async function stableRead(queues: Queues, queue: QueueName, id: string): Promise<JobSummary | undefined> {
  let last: JobSummary | undefined;
  for (let i = 0; i < STABLE_READ_TRIES; i++) {
    const before = await queues[queue].getJobState(id);
    if (before === 'unknown') return undefined;
    const job = (await queues[queue].getJob(id)) as Job<JobPayload> | undefined;
    if (!job) return undefined;
    const after = await queues[queue].getJobState(id);
    last = summary(queue, job, after);
    if (before === after) return last;
  }
  return last;
}

export type RetryOutcome = 'retried' | 'not-failed' | 'absent';

/** Moves a failed job back to its queue with a fresh set of attempts (as `orders requeue` does). */
export async function retryFailedJob(queues: Queues, queue: QueueName, jobId: string): Promise<RetryOutcome> {
  const job = await queues[queue].getJob(jobId);
  if (!job) return 'absent';
  if ((await job.getState()) !== 'failed') return 'not-failed';
  await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  return 'retried';
}

/** The queue a job id names, for ids made by `jobIdFor`. */
export function queueOfJobId(jobId: string): QueueName | undefined {
  const queue = jobId.slice(jobId.lastIndexOf('-') + 1);
  return (QUEUE_NAMES as readonly string[]).includes(queue) ? (queue as QueueName) : undefined;
}
