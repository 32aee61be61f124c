/**
 * The worker of the webhook delivery queue: runs one attempt per job (attempt.ts) with its own
 * concurrency, a cap per endpoint and its own HTTP timeout, so that deliveries never take a slot
 * from order processing nor one endpoint all the slots of the others. A failed attempt moves its
 * job to the delivery's next time; the outcome of each is counted for the metrics.
 */
import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import { WEBHOOK_DELIVERY_QUEUE, type DeliveryJob } from '../queues/webhook-deliveries.ts';
import { RepeatedLog } from '../lib/repeated-log.ts';
import { attemptDelivery, type AttemptOutcome } from './attempt.ts';
import { EndpointSlots } from './endpoint-slots.ts';
import { WebhookPoster } from './http-post.ts';
import type { RetrySchedule } from './retry-schedule.ts';

export interface DeliveryWorkerDeps {
  db: Db;
  connection: Redis;
  prefix: string;
  logger: Logger;
  concurrency: number;
  perEndpoint: number;
  timeoutMs: number;
  allowPrivate: boolean;
  schedule: RetrySchedule;
  disableAfterMs: number;
  lockMs: number;
  stalledIntervalMs: number;
  now: () => number;
  /** Told how each attempt ended. */
  onOutcome?: (outcome: AttemptOutcome['kind']) => void;
}

export interface DeliveryWorker {
  /** Attempts under way. */
  active(): number;
  close(): Promise<void>;
}

export function startDeliveryWorker(deps: DeliveryWorkerDeps): DeliveryWorker {
  const log = deps.logger.child({ queue: WEBHOOK_DELIVERY_QUEUE });
  const poster = new WebhookPoster({ timeoutMs: deps.timeoutMs, allowPrivate: deps.allowPrivate });
  // An endpoint may hold its own slots and a line that leaves the others at least half the worker.
  const slots = new EndpointSlots({
    perEndpoint: deps.perEndpoint,
    lineLength: Math.max(0, Math.floor(deps.concurrency / 2) - deps.perEndpoint),
  });
  const attemptDeps = { db: deps.db, poster, schedule: deps.schedule, disableAfterMs: deps.disableAfterMs, now: deps.now, slots };
  let active = 0;
  const worker = new Worker<DeliveryJob, string>(
    WEBHOOK_DELIVERY_QUEUE,
    async (job: Job<DeliveryJob>, token?: string) => {
      active += 1;
      try {
        return await attempt(job, token);
      } finally {
        active -= 1;
      }
    },
    {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: deps.concurrency,
      lockDuration: Math.max(deps.lockMs, deps.timeoutMs * 2),
      stalledInterval: deps.stalledIntervalMs,
      maxStalledCount: 5,
    },
  );

  async function attempt(job: Job<DeliveryJob>, token: string | undefined): Promise<string> {
    const deliveryId = typeof job.data?.deliveryId === 'string' ? job.data.deliveryId.slice(0, 64) : '';
    const endpointId = typeof job.data?.endpointId === 'string' ? job.data.endpointId.slice(0, 64) : undefined;
    const outcome = await attemptDelivery(attemptDeps, deliveryId, endpointId);
    deps.onOutcome?.(outcome.kind);
    const at = outcome.kind === 'retry' ? outcome.retryAt : outcome.kind === 'skipped' ? outcome.at : undefined;
    if (outcome.kind === 'given_up') {
      log.warn(
        { deliveryId, disabled: outcome.disabled },
        outcome.disabled ? 'webhook endpoint disabled' : 'webhook delivery given up',
      );
    } else log.debug({ deliveryId, outcome: outcome.kind }, 'webhook attempt');
    if (at !== undefined && token) {
      // Wall-clock time: BullMQ's delays are on this host's clock.
      await job.moveToDelayed(Date.now() + Math.max(0, at - deps.now()), token);
      throw new DelayedError();
    }
    return outcome.kind === 'skipped' ? `skipped: ${outcome.why}` : outcome.kind;
  }
  const errors = new RepeatedLog(log);
  worker.on('error', (err) => errors.report('redis', 'warn', { err }, 'webhook delivery worker cannot reach Redis; retrying'));
  worker.on('ready', () => errors.recovered('redis', 'webhook delivery worker connected to Redis again'));
  worker.on('failed', (job, err) => {
    if (job) log.warn({ deliveryId: job.data?.deliveryId, err }, 'webhook attempt failed before it was recorded; it runs again');
  });
  return {
    active: () => active,
    async close() {
      try {
        await worker.close();
      } finally {
        poster.close();
      }
    },
  };
}
