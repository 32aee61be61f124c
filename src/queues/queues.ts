/**
 * One BullMQ queue per service, with the default job options: retries with exponential backoff,
 * and completed or failed jobs removed by age so that Redis stays small.
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
}

/** The queue settings a service's configuration gives. */
export function queueSettings(config: { queuePrefix: string; jobAttempts: number; jobBackoffMs: number }): QueueSettings {
  return { prefix: config.queuePrefix, attempts: config.jobAttempts, backoffMs: config.jobBackoffMs };
}

export function defaultJobOptions(settings: QueueSettings): DefaultJobOptions {
  return {
    attempts: settings.attempts,
    backoff: { type: 'exponential', delay: settings.backoffMs },
    removeOnComplete: { age: 60 * 60, count: 50_000 },
    // Failed jobs wait a week for an operator to look and requeue.
    removeOnFail: { age: 7 * 24 * 60 * 60 },
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
