/**
 * The payment deadline: fails an order whose gateway has not answered in time. It runs on a queue
 * of its own, so that charges hanging on a slow gateway never delay the timer that guards them.
 */
import { DelayedError } from 'bullmq';
import type { Db } from '../db/client.ts';
import { timeOutPayment } from '../db/payments.ts';
import { isReachedBy } from '../domain/order-machine.ts';
import type { Handlers } from '../queues/routing.ts';
import { parsePayload } from './job.ts';

export function paymentDeadlineHandlers(deps: {
  db: Db;
  paymentTimeoutMs: number;
  now: () => number;
}): Handlers<'payment-deadline'> {
  const { db, now } = deps;
  return {
    PaymentTimeoutDue: async (job, token) => {
      const { orderId } = parsePayload(job);
      const check = await timeOutPayment(db, orderId, now(), deps.paymentTimeoutMs);
      if (check.due) return check.order && isReachedBy(check.order.status, 'PaymentTimedOut') ? 'timed out' : 'answered in time';
      // Re-created early (by the reconciler, say, or promoted early by a worker whose clock runs
      // ahead: BullMQ reads each worker's own clock): wait for the real deadline, which is on the
      // deployment's clock, as a delay from this host's clock, which BullMQ reads.
      await job.moveToDelayed(Date.now() + Math.max(0, check.dueAt - now()), token);
      throw new DelayedError();
    },
  };
}
