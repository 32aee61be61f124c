/**
 * What the operations console reads of BullMQ: the recent failed jobs of every queue and the jobs
 * of one order (found by their deterministic ids), as a page shows them. Every read is bounded by a
 * deadline: a page shows what it knows when Redis is down or frozen instead of waiting on it. The
 * operator's actions on jobs, which the CLI shares, are job-actions.ts.
 */
import type { Job } from 'bullmq';
import { withDeadline } from '../lib/deadline.ts';
import type { JobPayload, OutboxEvent } from '../domain/events.ts';
import { failedJobs } from './job-actions.ts';
import type { Queues } from './queues.ts';
import { QUEUE_NAMES, ROUTES, isRepeatable, jobIdFor, type QueueName } from './routing.ts';

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

/** The most recent failed jobs of every queue, newest first, at most `perQueue` of each. */
export async function recentFailedJobs(queues: Queues, perQueue: number): Promise<JobSummary[]> {
  const { jobs } = await failedJobs(queues, QUEUE_NAMES, perQueue);
  return jobs
    .map(
      (job): JobSummary => ({
        queue: job.queue,
        id: job.id,
        event: job.event,
        orderId: job.orderId,
        state: 'failed',
        attempts: job.attempts,
        lastError: job.reason || null,
        finishedAt: job.failedAt,
      }),
    )
    .sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0));
}

/**
 * The jobs `events` of an order give rise to, one per routed queue, as Redis knows them. An event
 * that may happen more than once per order (`isRepeatable`) is named by its outbox row: given
 * without one, it is left out.
 */
export async function jobsOf(
  queues: Queues,
  orderId: string,
  events: readonly (OutboxEvent | { type: OutboxEvent; outboxId: number })[],
): Promise<JobSummary[]> {
  const named = events.flatMap((e) => {
    const { type, outboxId } = typeof e === 'string' ? { type: e, outboxId: undefined } : e;
    if (isRepeatable(type) && outboxId === undefined) return [];
    return ROUTES[type].map((queue) => ({ event: type, queue, id: jobIdFor(orderId, type, queue, outboxId) }));
  });
  const wanted = [...new Map(named.map((n) => [n.id, n])).values()];
  return Promise.all(
    wanted.map(async ({ event, queue, id }): Promise<JobSummary> => {
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

/** The queue a job id names, for ids made by `jobIdFor`. */
export function queueOfJobId(jobId: string): QueueName | undefined {
  const queue = jobId.slice(jobId.lastIndexOf('-') + 1);
  return (QUEUE_NAMES as readonly string[]).includes(queue) ? (queue as QueueName) : undefined;
}
