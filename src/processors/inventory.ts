/**
 * The inventory service: reserves a paid order's stock, and gives a cancelled order's stock back.
 */
import type { Db } from '../db/client.ts';
import { releaseStock, reserveStock } from '../db/stock.ts';
import { parsePayload, unknownJob, type Processor } from './job.ts';

export function inventoryProcessor(deps: { db: Db; now: () => number }): Processor {
  return async (job) => {
    const { orderId } = parsePayload(job);
    switch (job.name) {
      case 'PaymentSucceeded':
        return reserveStock(deps.db, orderId, deps.now());
      case 'StockReleaseRequested':
        return releaseStock(deps.db, orderId, deps.now()) ? 'released' : 'nothing to release';
      default:
        return unknownJob(job);
    }
  };
}
