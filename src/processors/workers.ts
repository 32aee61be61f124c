/**
 * Starts one BullMQ worker per service. Each job runs its processor, and the relay is kicked after
 * it so that the events its transaction wrote move on at once; how each run ended is reported for
 * the metrics.
 */
import { DelayedError, UnrecoverableError, Worker, type Job, type JobJson } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import { findOrder } from '../db/orders.ts';
import { recordFailedAttempt } from '../db/failed-attempts.ts';
import { recordJobFailure } from '../db/transitions.ts';
import { StorageUnavailableError } from '../db/errors.ts';
import type { JobPayload } from '../domain/events.ts';
import type { Carrier, Mailer, Notifier, PaymentGateway } from '../domain/ports.ts';
import type { JobOutcome, JobReport } from '../metrics.ts';
import { isOutOfMemory } from '../queues/connection.ts';
import type { Lease } from '../queues/lease.ts';
import { QUEUE_NAMES, type QueueName } from '../queues/routing.ts';
import { traceJobs } from '../telemetry/messaging.ts';
import { tracingEnabled } from '../telemetry/tracing.ts';
import type { RetryLaterError } from '../domain/errors.ts';
import { drainWithin } from './drain.ts';
import { asThrown, delayFor, failureKind } from './failure-policy.ts';
import { inventoryHandlers } from './inventory.ts';
import { KnownOrders } from './known-orders.ts';
import { processorOf, type Processor } from './job.ts';
import { RepeatedLog } from '../lib/repeated-log.ts';
import { notificationHandlers } from './notification.ts';
import { paymentDeadlineHandlers } from './payment-deadline.ts';
import { paymentHandlers } from './payment.ts';
import { refundHandlers } from './refund.ts';
import { shippingHandlers } from './shipping.ts';
import { stepRunner } from './step.ts';
import { webhookHandlers } from './webhook.ts';
import type { DeliveryQueue } from '../queues/webhook-deliveries.ts';

export interface WorkerDeps {
  db: Db;
  connection: Redis;
  gateway: PaymentGateway;
  carrier: Carrier;
  notifier: Notifier;
  /** Emails customers who gave an address (SMTP_URL); without it every message goes to `notifier`. */
  mailer?: Mailer;
  /** Keeps concurrent runs of one (order, kind) from both emailing. */
  lease?: Lease;
  logger: Logger;
  /** Called after each job, to move the events it wrote. */
  onJobDone: () => void;
  /** Told how each run of a job ended and how long it took. */
  onJobFinished?: (report: JobReport) => void;
  /** Told of a job for an order this database does not know: another deployment shares the prefix. */
  onForeignJob?: (queue: QueueName) => void;
  prefix: string;
  /** Jobs run at once, per queue. */
  concurrency: Record<QueueName, number>;
  paymentTimeoutMs: number;
  /** How long one provider call may take (PROVIDER_TIMEOUT_MS). */
  providerTimeoutMs: number;
  /** How long a job's lock lasts without renewal (JOB_LOCK_MS). */
  lockMs: number;
  /** How often expired locks are looked for (JOB_STALLED_INTERVAL_MS). */
  stalledIntervalMs: number;
  /** Where the webhook fan-out queues each delivery's attempts. */
  webhookDeliveries: DeliveryQueue;
  /** The services this process works for; all of them unless set. */
  queues?: readonly QueueName[];
  now?: () => number;
}

export interface Workers {
  /** Jobs running in this process now. */
  active(): number;
  /**
   * Takes no new jobs and waits for the active ones: without `graceMs` until they finish, with it
   * for at most that long (see drain.ts), saying in the log which happened.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * How many times a job may lose its worker (stall) before it fails for good. A stall is a worker
 * killed, cut off from Redis or starved past its lock, seldom the job's fault: with BullMQ's
 * default of one, a job caught by two such blows (a host killed, then another partitioned) was
 * left to an operator. A job that itself brings its workers down still stops after this many.
 */
const MAX_STALLS = 5;

/** How many order ids a worker process remembers as found in its database. */
const KNOWN_ORDERS = 10_000;

/**
 * A BullMQ worker that takes a job whose stored data or options are not JSON (written to Redis by
 * hand, or by something else on the prefix): BullMQ would throw while reading it, leave it active,
 * and take it again after each stall, for ever. Read here with its data replaced by a marker, it
 * runs like any job with malformed data: refused at once (parsePayload), into the failed set.
 */
class ServiceWorker extends Worker<JobPayload, string> {
  protected override createJob(data: JobJson, jobId: string): Job<JobPayload, string> {
    try {
      return super.createJob(data, jobId);
    } catch {
      const readable = (text: unknown, fallback: string) => {
        try {
          JSON.parse(String(text ?? fallback));
          return String(text ?? fallback);
        } catch {
          return fallback;
        }
      };
      const marked = {
        ...data,
        data: readable(data.data, JSON.stringify({ unreadable: 'job data is not JSON' })),
        opts: readable(data.opts, '{}'),
      };
      return super.createJob(marked as JobJson, jobId);
    }
  }
}

/** A job for an order this database does not know. */
export class ForeignOrderError extends UnrecoverableError {
  override readonly name = 'ForeignOrderError';
}

export function startWorkers(deps: WorkerDeps): Workers {
  const now = deps.now ?? Date.now;
  const { db } = deps;
  // One runner for every step that calls a provider: the two transactions, each call's deadline
  // and span, the email lease (step.ts).
  const steps = stepRunner({
    db,
    gateway: deps.gateway,
    carrier: deps.carrier,
    notifier: deps.notifier,
    mailer: deps.mailer,
    lease: deps.lease,
    providerTimeoutMs: deps.providerTimeoutMs,
    now,
  });
  const processors: Record<QueueName, Processor> = {
    payment: processorOf(paymentHandlers({ steps, paymentTimeoutMs: deps.paymentTimeoutMs })),
    'payment-deadline': processorOf(paymentDeadlineHandlers({ db, paymentTimeoutMs: deps.paymentTimeoutMs, now })),
    inventory: processorOf(inventoryHandlers({ db, now })),
    shipping: processorOf(shippingHandlers({ steps })),
    notification: processorOf(notificationHandlers({ steps })),
    refund: processorOf(refundHandlers({ steps })),
    webhook: processorOf(webhookHandlers({ db, deliveries: deps.webhookDeliveries, now })),
  };
  let active = 0;
  const connectionErrors = new RepeatedLog(deps.logger);
  const known = new KnownOrders(KNOWN_ORDERS);

  const workers = (deps.queues ?? QUEUE_NAMES).map((queue) => {
    const log = deps.logger.child({ queue });
    const processor = tracingEnabled() ? traceJobs(queue, processors[queue]) : processors[queue];
    const worker = new ServiceWorker(
      queue,
      async (job: Job<JobPayload>, token?: string) => {
        const started = performance.now();
        let outcome: JobOutcome = 'completed';
        active += 1;
        try {
          // Every job is caused by an order of this database; one that is not is another
          // deployment's, on the same Redis and prefix: say so loudly rather than "nothing to do".
          // Orders are never deleted: one found once needs no second look (an order has ~6 jobs).
          const orderId = job.data?.orderId;
          if (typeof orderId === 'string' && !known.has(orderId)) {
            if (!(await findOrder(db, orderId))) {
              deps.onForeignJob?.(queue);
              throw new ForeignOrderError(
                `order ${orderId.slice(0, 64)} is not in this database: another deployment uses queue prefix ${deps.prefix}`,
              );
            }
            known.add(orderId);
          }
          const result = await processor(job, token);
          connectionErrors.recovered('storage', 'the database takes writes again; jobs run');
          connectionErrors.recovered('contention', 'database work no longer loses to concurrent sessions; jobs run');
          return result;
        } catch (error) {
          // The database cannot write (a full disk, a server away), or the work lost to concurrent
          // sessions (a lock held elsewhere): not the job's fault. The job waits as long as the
          // error says and runs again without spending an attempt, however long that lasts.
          if (failureKind(error) === 'delay' && token) {
            const waiting = error as RetryLaterError;
            if (waiting instanceof StorageUnavailableError) {
              connectionErrors.report(
                'storage',
                'error',
                { queue, err: waiting, code: waiting.code },
                'the database cannot take writes; jobs wait for it',
              );
            } else {
              connectionErrors.report(
                'contention',
                'warn',
                { queue, err: waiting },
                'database work lost to concurrent sessions (a lock held elsewhere?); jobs wait and run again',
              );
            }
            await job.moveToDelayed(Date.now() + delayFor(waiting), token);
            outcome = 'delayed';
            throw new DelayedError();
          }
          // Its kind decides: a transient failure retries, a broken invariant fails at once.
          const thrown = asThrown(error);
          outcome = outcomeOf(job, thrown);
          throw thrown;
        } finally {
          active -= 1;
          deps.onJobDone();
          deps.onJobFinished?.({ queue, outcome, durationMs: performance.now() - started });
        }
      },
      {
        connection: deps.connection,
        prefix: deps.prefix,
        concurrency: deps.concurrency[queue],
        // A worker that dies mid-job loses its lock after lockMs; the next stalled-job check, one
        // every stalledIntervalMs, then hands the job to another worker.
        lockDuration: deps.lockMs,
        stalledInterval: deps.stalledIntervalMs,
        maxStalledCount: MAX_STALLS,
      },
    );
    worker.on('completed', (job, result) =>
      log.debug({ jobId: job.id, orderId: loggable(job.data?.orderId), event: job.name, result }, 'job done'),
    );
    worker.on('failed', (job, error) => {
      if (!job) return;
      // By now attemptsMade counts this run too.
      const exhausted = givesUp(job, error, job.attemptsMade);
      const context = {
        jobId: loggable(job.id),
        orderId: loggable(job.data?.orderId),
        event: loggable(job.name),
        attempt: job.attemptsMade,
        err: error,
      };
      if (typeof job.data?.orderId === 'string' && !(error instanceof ForeignOrderError)) {
        // Every attempt, the ones before a success too, for the order's page.
        recordFailedAttempt(db, {
          orderId: job.data.orderId,
          queue,
          jobId: String(job.id),
          event: job.name,
          attempt: job.attemptsMade,
          error: error.message,
          at: now(),
        }).catch((err) => log.warn({ ...context, err }, 'could not record the failed attempt'));
      }
      if (!exhausted) {
        if (failureKind(error) === 'unknown') log.error(context, 'job failed with an error of no known kind; will retry');
        else log.warn(context, 'job failed; will retry');
        return;
      }
      if (error instanceof ForeignOrderError) {
        // No timeline to write it on: the order is not in this database.
        log.error(context, 'job for an order this database does not know: is QUEUE_PREFIX shared with another deployment?');
        return;
      }
      log.error(context, 'job failed for good; it waits in the failed set until requeued');
      if (typeof job.data?.orderId !== 'string') return;
      recordJobFailure(
        db,
        job.data.orderId,
        { queue, event: job.name, jobId: job.id, attempts: job.attemptsMade, reason: error.message },
        now(),
      ).catch((err) => log.error({ ...context, err }, 'could not record the failure on the order'));
    });
    // Every queue's worker meets the same Redis: one streak for them all, so that a Redis that is
    // away is said once (and then with backoff), not once per queue.
    worker.on('error', (error) =>
      isOutOfMemory(error)
        ? connectionErrors.report(
            'redis-oom',
            'error',
            { queue, err: error },
            'Redis is out of memory (maxmemory reached, noeviction): the worker cannot take or finish jobs; raise maxmemory or shorten job retention',
          )
        : connectionErrors.report('redis', 'warn', { queue, err: error }, 'worker cannot reach Redis; retrying'),
    );
    worker.on('ready', () => connectionErrors.recovered('redis', 'worker connected to Redis again'));
    worker.on('completed', () => connectionErrors.recovered('redis-oom', 'worker finishes jobs again: Redis takes writes'));
    return worker;
  });

  return {
    active: () => active,
    async close(graceMs?: number) {
      const closeAll = async () => {
        await Promise.allSettled(workers.map((w) => w.close()));
      };
      if (graceMs === undefined) await closeAll();
      else await drainWithin(graceMs, { active: () => active, close: closeAll }, deps.logger);
    },
  };
}

/** How much of a value taken from a job's data goes into a log line. */
const LOGGED_MAX = 64;

/**
 * A value from a job, fit for a log line: job data comes from Redis, where anyone with access can
 * write anything, and a 5 MB "order id" would otherwise be written whole into every line about it.
 */
function loggable(value: unknown): unknown {
  if (typeof value === 'string')
    return value.length > LOGGED_MAX ? `${value.slice(0, LOGGED_MAX)}… (${value.length} characters)` : value;
  if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  return `(${typeof value})`;
}

function outcomeOf(job: Job, error: unknown): JobOutcome {
  if (error instanceof DelayedError) return 'delayed';
  // While the job runs, attemptsMade counts the runs that failed before this one.
  return givesUp(job, error, job.attemptsMade + 1) ? 'failed' : 'retried';
}

/** A job gives up when its error is permanent, or after `failedRuns` used all its attempts. */
function givesUp(job: Job, error: unknown, failedRuns: number): boolean {
  return failureKind(error) === 'permanent' || failedRuns >= (job.opts.attempts ?? 1);
}
