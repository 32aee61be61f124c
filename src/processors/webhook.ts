/**
 * The webhook fan-out: an order's change that caused webhook deliveries wrote a `WebhooksDue`
 * outbox row; its job queues one attempt per delivery of the order still owed on the delivery
 * queue (queues/webhook-deliveries.ts), where each endpoint is tried on its own. Queuing a
 * delivery already queued does nothing, so a job run twice, or one for an order with older
 * deliveries still owed, is harmless.
 */
import type { Db } from '../db/client.ts';
import { pendingDeliveriesOf } from '../db/webhook-deliveries.ts';
import type { Handlers } from '../queues/routing.ts';
import { enqueueDeliveries, type DeliveryQueue } from '../queues/webhook-deliveries.ts';
import { parsePayload } from './job.ts';

export function webhookHandlers(deps: { db: Db; deliveries: DeliveryQueue; now: () => number }): Handlers<'webhook'> {
  return {
    WebhooksDue: async (job) => {
      const { orderId } = parsePayload(job);
      const due = await pendingDeliveriesOf(deps.db, orderId);
      await enqueueDeliveries(deps.deliveries, due, deps.now());
      return due.length === 0 ? 'nothing owed' : `${due.length} queued`;
    },
  };
}
