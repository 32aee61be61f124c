/**
 * The inventory service: reserves a paid order's stock, and gives an ended order's stock back.
 */
import type { Db } from '../db/client.ts';
import { releaseStock, reserveStock } from '../db/stock.ts';
import type { Handlers } from '../queues/routing.ts';
import { parsePayload } from './job.ts';

export function inventoryHandlers(deps: { db: Db; now: () => number }): Handlers<'inventory'> {
  return {
    PaymentSucceeded: async (job) => reserveStock(deps.db, parsePayload(job).orderId, deps.now()),
    StockReleaseRequested: async (job) =>
      (await releaseStock(deps.db, parsePayload(job).orderId, deps.now())) ? 'released' : 'nothing to release',
  };
}
