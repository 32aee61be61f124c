/**
 * The queue of webhook delivery attempts, apart from the order queues: a receiver that is slow or
 * down holds only this queue's slots, never a payment's or a shipment's. One job per delivery,
 * named by the delivery's id, so that the fan-out, the re-drive and a resend never queue it twice.
 * Retries are not BullMQ's: an attempt that failed moves its own job to its next time (the
 * delivery row holds the schedule), so a job is removed once it ends; a job that failed for
 * another reason (the database away) is re-driven from the delivery row.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export const WEBHOOK_DELIVERY_QUEUE = 'webhook-delivery';

export interface DeliveryJob {
  deliveryId: string;
  /**
   * Its endpoint, so that the worker takes the endpoint's slot before it reads anything (absent
   * from jobs queued by an earlier version: the worker reads the delivery first then).
   */
  endpointId?: string;
}

export type DeliveryQueue = Queue<DeliveryJob>;

export function createDeliveryQueue(connection: Redis, prefix: string): DeliveryQueue {
  const queue = new Queue<DeliveryJob>(WEBHOOK_DELIVERY_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      attempts: 5,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: true,
      removeOnFail: true,
    },
  });
  // Errors surface through the failed adds of the fan-out and the re-drive.
  queue.on('error', () => {});
  return queue;
}

/** Queues an attempt of each delivery, at its time; one already queued under its id is left as it is. */
export async function enqueueDeliveries(
  queue: DeliveryQueue,
  due: readonly { id: string; endpointId: string; nextAttemptAt: number }[],
  now: number,
): Promise<void> {
  if (due.length === 0) return;
  await queue.addBulk(
    due.map((d) => ({
      name: 'WebhookDelivery',
      data: { deliveryId: d.id, endpointId: d.endpointId },
      opts: { jobId: d.id, delay: Math.max(0, d.nextAttemptAt - now) },
    })),
  );
}
