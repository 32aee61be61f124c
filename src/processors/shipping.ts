/**
 * The shipping service: creates the shipment at the carrier (keyed by order) for an order whose
 * stock is reserved, and cancels it again if the order was cancelled meanwhile.
 */
import type { Db } from '../db/client.ts';
import { planShipment, recordShipment } from '../db/shipments.ts';
import type { Carrier } from '../domain/ports.ts';
import { parsePayload, unknownJob, type Processor } from './job.ts';

export function shippingProcessor(deps: { db: Db; carrier: Carrier; now: () => number }): Processor {
  return async (job) => {
    if (job.name !== 'InventoryReserved') return unknownJob(job);
    const { orderId } = parsePayload(job);
    const order = planShipment(deps.db, orderId);
    if (!order) return 'nothing to ship';
    const { trackingNumber } = await deps.carrier.createShipment({ orderId, address: order.shippingAddress });
    const result = recordShipment(deps.db, orderId, trackingNumber, deps.now());
    if (result === 'order_ended') await deps.carrier.cancelShipment({ orderId });
    return result;
  };
}
