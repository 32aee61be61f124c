/**
 * The refund service: refunds the full amount of an order whose payment waits for its refund,
 * once, keyed by order at the gateway.
 */
import type { Db } from '../db/client.ts';
import { planRefund, recordRefund } from '../db/refunds.ts';
import type { PaymentGateway } from '../domain/ports.ts';
import type { Handlers } from '../queues/routing.ts';
import { parsePayload } from './job.ts';

export function refundHandlers(deps: { db: Db; gateway: PaymentGateway; now: () => number }): Handlers<'refund'> {
  return { RefundRequested: refund };

  async function refund(job: Parameters<Handlers<'refund'>['RefundRequested']>[0]): Promise<string> {
    const { orderId } = parsePayload(job);
    const order = await planRefund(deps.db, orderId);
    if (!order) return 'nothing to refund';
    const { refundId } = await deps.gateway.refund({
      idempotencyKey: `refund-${orderId}`,
      orderId,
      chargeId: order.chargeId,
      amountCents: order.totalCents,
    });
    await recordRefund(deps.db, orderId, refundId, deps.now());
    return `refunded ${refundId}`;
  }
}
