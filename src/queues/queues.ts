/**
 * One BullMQ queue per service, with the default job options: retries with exponential backoff,
 * and completed or failed jobs removed by age (and completed ones by count) so that Redis stays
 * small: a kept completed job costs Redis about a kilobyte, and an order leaves several.
 */
import { Queue, type DefaultJobOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobPayload } from '../domain/events.ts';
import { QUEUE_NAMES, type QueueName } from './routing.ts';

export type Queues = Record<QueueName, Queue<JobPayload>>;

export interface QueueSettings {
  prefix: string;
  attempts: number;
  backoffMs: number;
  /** How long (s) and how many (per queue) completed jobs are kept; 0 s: none is kept. */
  completedRetention?: { ageS: number; count: number };
  /** How long (s) failed jobs are kept for an operator. */
  failedRetentionS?: number;
}

/** The queue settings a service's configuration gives. */
export function queueSettings(config: {
  queuePrefix: string;
  jobAttempts: number;
  jobBackoffMs: number;
  completedJobRetentionS?: number;
  completedJobRetentionCount?: number;
  failedJobRetentionS?: number;
}): QueueSettings {
  return {
    prefix: config.queuePrefix,
    attempts: config.jobAttempts,
    backoffMs: config.jobBackoffMs,
    completedRetention: {
      ageS: config.completedJobRetentionS ?? DEFAULT_COMPLETED.ageS,
      count: config.completedJobRetentionCount ?? DEFAULT_COMPLETED.count,
    },
    failedRetentionS: config.failedJobRetentionS ?? DEFAULT_FAILED_S,
  };
}

const DEFAULT_COMPLETED = { ageS: 60 * 60, count: 50_000 };
/** Failed jobs wait a week for an operator to look and requeue. */
const DEFAULT_FAILED_S = 7 * 24 * 60 * 60;

export function defaultJobOptions(settings: QueueSettings): DefaultJobOptions {
  const completed = settings.completedRetention ?? DEFAULT_COMPLETED;
  return {
    attempts: settings.attempts,
    backoff: { type: 'exponential', delay: settings.backoffMs },
    // Nothing relies on a completed job being kept (the order's state is the guard): keeping
    // none at all is `true`.
    removeOnComplete: completed.ageS === 0 || completed.count === 0 ? true : { age: completed.ageS, count: completed.count },
    removeOnFail: { age: settings.failedRetentionS ?? DEFAULT_FAILED_S },
  };
}

export function createQueues(connection: Redis, settings: QueueSettings): Queues {
  const entries = QUEUE_NAMES.map((name) => {
    const queue = new Queue<JobPayload>(name, {
      connection,
      prefix: settings.prefix,
      defaultJobOptions: defaultJobOptions(settings),
    });
    // Connection errors surface through the relay's failed adds; without a listener they would
    // crash the process while Redis restarts.
    queue.on('error', () => {});
    return [name, queue];
  });
  return Object.fromEntries(entries) as Queues;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.allSettled(Object.values(queues).map((q) => q.close()));
}
