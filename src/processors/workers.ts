/**
 * Starts one BullMQ worker per service. Each job runs its processor, and the relay is kicked after
 * it so that the events its transaction wrote move on at once.
 */
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import type { JobPayload } from '../domain/events.ts';
import type { Carrier, Notifier, PaymentGateway } from '../domain/ports.ts';
import { QUEUE_NAMES, type QueueName } from '../queues/routing.ts';
import { inventoryProcessor } from './inventory.ts';
import type { Processor } from './job.ts';
import { notificationProcessor } from './notification.ts';
import { paymentProcessor } from './payment.ts';
import { refundProcessor } from './refund.ts';
import { shippingProcessor } from './shipping.ts';

export interface WorkerDeps {
  db: Db;
  connection: Redis;
  gateway: PaymentGateway;
  carrier: Carrier;
  notifier: Notifier;
  logger: Logger;
  /** Called after each job, to move the events it wrote. */
  onJobDone: () => void;
  prefix: string;
  concurrency: number;
  paymentTimeoutMs: number;
  /** The services this process works for; all of them unless set. */
  queues?: readonly QueueName[];
  now?: () => number;
}

export interface Workers {
  workers: Worker<JobPayload, string>[];
  close(): Promise<void>;
}

export function startWorkers(deps: WorkerDeps): Workers {
  const now = deps.now ?? Date.now;
  const { db } = deps;
  const processors: Record<QueueName, Processor> = {
    payment: paymentProcessor({ db, gateway: deps.gateway, paymentTimeoutMs: deps.paymentTimeoutMs, now }),
    inventory: inventoryProcessor({ db, now }),
    shipping: shippingProcessor({ db, carrier: deps.carrier, now }),
    notification: notificationProcessor({ db, notifier: deps.notifier, now }),
    refund: refundProcessor({ db, gateway: deps.gateway, now }),
  };

  const workers = (deps.queues ?? QUEUE_NAMES).map((queue) => {
    const log = deps.logger.child({ queue });
    const processor = processors[queue];
    const worker = new Worker<JobPayload, string>(
      queue,
      async (job: Job<JobPayload>, token?: string) => {
        try {
          return await processor(job, token);
        } finally {
          deps.onJobDone();
        }
      },
      { connection: deps.connection, prefix: deps.prefix, concurrency: deps.concurrency },
    );
    worker.on('completed', (job, result) =>
      log.debug({ jobId: job.id, orderId: job.data.orderId, event: job.name, result }, 'job done'),
    );
    worker.on('failed', (job, error) => {
      if (!job) return;
      const exhausted = job.attemptsMade >= (job.opts.attempts ?? 1);
      log[exhausted ? 'error' : 'warn'](
        { jobId: job.id, orderId: job.data.orderId, event: job.name, attempt: job.attemptsMade, err: error },
        exhausted ? 'job failed for good' : 'job failed; will retry',
      );
    });
    worker.on('error', (error) => log.warn({ err: error }, 'worker connection error'));
    return worker;
  });

  return {
    workers,
    async close() {
      await Promise.allSettled(workers.map((w) => w.close()));
    },
  };
}
