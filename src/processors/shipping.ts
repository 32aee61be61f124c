/**
 * The shipping service: creates the shipment at the carrier (keyed by order) for an order whose
 * stock is reserved, and cancels it again if the order was cancelled meanwhile.
 */
import type { Db } from '../db/client.ts';
import { planShipment, recordShipment } from '../db/shipments.ts';
import type { Carrier } from '../domain/ports.ts';
import type { Handlers } from '../queues/routing.ts';
import { parsePayload } from './job.ts';

export function shippingHandlers(deps: { db: Db; carrier: Carrier; now: () => number }): Handlers<'shipping'> {
  return { InventoryReserved: ship };

  async function ship(job: Parameters<Handlers<'shipping'>['InventoryReserved']>[0]): Promise<string> {
    const { orderId } = parsePayload(job);
    const order = await planShipment(deps.db, orderId);
    if (!order) return 'nothing to ship';
    const { trackingNumber } = await deps.carrier.createShipment({ orderId, address: order.shippingAddress });
    const result = await recordShipment(deps.db, orderId, trackingNumber, deps.now());
    if (result === 'order_ended') await deps.carrier.cancelShipment({ orderId });
    return result;
  }
}
