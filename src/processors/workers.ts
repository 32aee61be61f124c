/**
 * Starts one BullMQ worker per service. Each job runs its processor, and the relay is kicked after
 * it so that the events its transaction wrote move on at once; how each run ended is reported for
 * the metrics.
 */
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import { recordJobFailure } from '../db/orders.ts';
import type { JobPayload } from '../domain/events.ts';
import type { Carrier, Notifier, PaymentGateway } from '../domain/ports.ts';
import { QUEUE_NAMES, type QueueName } from '../queues/routing.ts';
import { traceJobs } from '../telemetry/messaging.ts';
import { traceProviders } from '../telemetry/providers.ts';
import { tracingEnabled } from '../telemetry/tracing.ts';
import { inventoryProcessor } from './inventory.ts';
import type { Processor } from './job.ts';
import { notificationProcessor } from './notification.ts';
import { paymentProcessor } from './payment.ts';
import { refundProcessor } from './refund.ts';
import { shippingProcessor } from './shipping.ts';

/** How one run of a job ended: `retried` will run again, `failed` will not. */
export type JobOutcome = 'completed' | 'retried' | 'failed' | 'delayed';

export interface JobReport {
  queue: QueueName;
  outcome: JobOutcome;
  durationMs: number;
}

export interface WorkerDeps {
  db: Db;
  connection: Redis;
  gateway: PaymentGateway;
  carrier: Carrier;
  notifier: Notifier;
  logger: Logger;
  /** Called after each job, to move the events it wrote. */
  onJobDone: () => void;
  /** Told how each run of a job ended and how long it took. */
  onJobFinished?: (report: JobReport) => void;
  prefix: string;
  concurrency: number;
  paymentTimeoutMs: number;
  /** How long a job's lock lasts without renewal (JOB_LOCK_MS). */
  lockMs: number;
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
  // Where traces are exported, each call to the outside world is a span of the job's trace.
  const { gateway, carrier, notifier } = tracingEnabled() ? traceProviders(deps) : deps;
  const processors: Record<QueueName, Processor> = {
    payment: paymentProcessor({ db, gateway, paymentTimeoutMs: deps.paymentTimeoutMs, now }),
    inventory: inventoryProcessor({ db, now }),
    shipping: shippingProcessor({ db, carrier, now }),
    notification: notificationProcessor({ db, notifier, now }),
    refund: refundProcessor({ db, gateway, now }),
  };

  const workers = (deps.queues ?? QUEUE_NAMES).map((queue) => {
    const log = deps.logger.child({ queue });
    const processor = tracingEnabled() ? traceJobs(queue, processors[queue]) : processors[queue];
    const worker = new Worker<JobPayload, string>(
      queue,
      async (job: Job<JobPayload>, token?: string) => {
        const started = performance.now();
        let outcome: JobOutcome = 'completed';
        try {
          return await processor(job, token);
        } catch (error) {
          outcome = outcomeOf(job, error);
          throw error;
        } finally {
          deps.onJobDone();
          deps.onJobFinished?.({ queue, outcome, durationMs: performance.now() - started });
        }
      },
      {
        connection: deps.connection,
        prefix: deps.prefix,
        concurrency: deps.concurrency,
        // A worker that dies mid-job loses its lock after this long; the stalled-job check then
        // hands the job to another worker.
        lockDuration: deps.lockMs,
        stalledInterval: deps.lockMs,
      },
    );
    worker.on('completed', (job, result) =>
      log.debug({ jobId: job.id, orderId: job.data.orderId, event: job.name, result }, 'job done'),
    );
    worker.on('failed', (job, error) => {
      if (!job) return;
      // By now attemptsMade counts this run too.
      const exhausted = givesUp(job, error, job.attemptsMade);
      const context = { jobId: job.id, orderId: job.data?.orderId, event: job.name, attempt: job.attemptsMade, err: error };
      if (!exhausted) {
        log.warn(context, 'job failed; will retry');
        return;
      }
      log.error(context, 'job failed for good; it waits in the failed set until requeued');
      if (typeof job.data?.orderId !== 'string') return;
      try {
        recordJobFailure(
          db,
          job.data.orderId,
          { queue, event: job.name, jobId: job.id, attempts: job.attemptsMade, reason: error.message },
          now(),
        );
      } catch (err) {
        log.error({ ...context, err }, 'could not record the failure on the order');
      }
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

function outcomeOf(job: Job, error: unknown): JobOutcome {
  if (error instanceof DelayedError) return 'delayed';
  // While the job runs, attemptsMade counts the runs that failed before this one.
  return givesUp(job, error, job.attemptsMade + 1) ? 'failed' : 'retried';
}

/** A job gives up when its error says not to retry, or after `failedRuns` used all its attempts. */
function givesUp(job: Job, error: unknown, failedRuns: number): boolean {
  return error instanceof UnrecoverableError || failedRuns >= (job.opts.attempts ?? 1);
}
