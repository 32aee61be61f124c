/**
 * A simulated carrier: one shipment per order, with a tracking number. Delivery comes back later
 * through the signed carrier webhook (api/webhooks.ts).
 */
import { randomInt } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { writeTx, type Db } from '../db/client.ts';
import { placeholder, placeholderSql } from '../db/statements.ts';
import { sandboxShipments } from './schema.ts';
import type { Carrier } from '../domain/ports.ts';

export class SandboxCarrier implements Carrier {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async createShipment(request: { orderId: string }): Promise<{ trackingNumber: string }> {
    return writeTx(this.db, (tx) => {
      const existing = tx.connection.statements(build).shipment.get({ orderId: request.orderId });
      if (existing) return { trackingNumber: existing.trackingNumber };
      const trackingNumber = `TRK${randomInt(1e9, 1e10)}${randomInt(1e3, 1e4)}`;
      tx.connection.statements(build).create.run({ orderId: request.orderId, trackingNumber, createdAt: this.now() });
      return { trackingNumber };
    });
  }

  async cancelShipment(request: { orderId: string }): Promise<void> {
    this.db.update(sandboxShipments).set({ status: 'cancelled' }).where(eq(sandboxShipments.orderId, request.orderId)).run();
  }
}

function build(db: Db) {
  return {
    shipment: db
      .select()
      .from(sandboxShipments)
      .where(eq(sandboxShipments.orderId, placeholderSql('orderId')))
      .prepare(),
    create: db
      .insert(sandboxShipments)
      .values({
        orderId: placeholder('orderId'),
        trackingNumber: placeholder('trackingNumber'),
        status: 'created',
        createdAt: placeholder('createdAt'),
      })
      .prepare(),
  };
}
