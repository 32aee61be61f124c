/**
 * The shipping service: creates the shipment at the carrier (keyed by order) for an order whose
 * stock is reserved, and cancels it again if the order was cancelled meanwhile. A step (step.ts).
 */
import { planShipment, recordShipment } from '../db/shipments.ts';
import { STOCK_TX } from '../db/stock.ts';
import type { Handlers } from '../queues/routing.ts';
import { parsePayload } from './job.ts';
import { skip, step, type StepRunner } from './step.ts';

export const shipStep = step({
  id: 'ship',
  // Only looks: the record locks the order and checks it again before it moves stock.
  look: async (db, orderId: string) => (await planShipment(db, orderId)) ?? skip('nothing to ship'),
  call: (order, { carrier }) => carrier.createShipment({ orderId: order.id, address: order.shippingAddress }),
  // Moves stock: locks the order and takes STOCK_TX's options.
  record: (tx, order, { trackingNumber }, now) => recordShipment(tx, order.id, trackingNumber, now),
  recordTx: STOCK_TX,
  compensate: {
    needed: (result) => result === 'order_ended',
    call: (order, _shipment, { carrier }) => carrier.cancelShipment({ orderId: order.id }),
  },
  done: (result) => result,
});

export function shippingHandlers(deps: { steps: StepRunner }): Handlers<'shipping'> {
  return { InventoryReserved: (job) => deps.steps.run(shipStep, parsePayload(job).orderId) };
}
