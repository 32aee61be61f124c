/**
 * A simulated carrier: one shipment per order, with a tracking number. Delivery comes back later
 * through the signed carrier webhook (api/webhooks.ts). For the postal code CARRIER_DOWN_POSTAL_CODE
 * it is down, every time: the shipping job fails transiently until its attempts run out, and the
 * order waits in AWAITING_SHIPMENT on a failed job, as the console shows a stuck order.
 */
import { randomInt } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { prepared, writeOne, writeTx, type Db } from '../db/client.ts';
import { placeholder, placeholderSql } from '../db/statements.ts';
import { sandboxTables, type SandboxTables } from './tables/index.ts';
import type { Carrier } from '../domain/ports.ts';
import { TransientError } from '../domain/errors.ts';

export const CARRIER_DOWN_POSTAL_CODE = 'CARRIER-DOWN';

class CarrierDownError extends TransientError {
  override readonly name = 'CarrierDownError';
}

export class SandboxCarrier implements Carrier {
  private readonly ledgers: SandboxTables;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.ledgers = sandboxTables(db);
  }

  async createShipment(request: { orderId: string; address?: unknown }): Promise<{ trackingNumber: string }> {
    if ((request.address as { postalCode?: unknown } | undefined)?.postalCode === CARRIER_DOWN_POSTAL_CODE) {
      throw new CarrierDownError(`carrier unavailable for postal code ${CARRIER_DOWN_POSTAL_CODE} (sandbox)`);
    }
    // One statement: the shipment is created, or the order's existing one is kept (the key is the
    // order), and then read back.
    const trackingNumber = `TRK${randomInt(1e9, 1e10)}${randomInt(1e3, 1e4)}`;
    const [created] = await writeOne(this.db, (db) =>
      prepared(db, build).create.execute({ orderId: request.orderId, trackingNumber, createdAt: this.now() }),
    );
    if (created) return { trackingNumber: created.trackingNumber };
    const [existing] = await prepared(this.db, build).shipment.execute({ orderId: request.orderId });
    return { trackingNumber: existing!.trackingNumber };
  }

  async cancelShipment(request: { orderId: string }): Promise<void> {
    const { sandboxShipments } = this.ledgers;
    await writeTx(this.db, async (tx) => {
      await tx.update(sandboxShipments).set({ status: 'cancelled' }).where(eq(sandboxShipments.orderId, request.orderId));
    });
  }
}

function build(db: Db) {
  const { sandboxShipments } = sandboxTables(db);
  return {
    shipment: db
      .select()
      .from(sandboxShipments)
      .where(eq(sandboxShipments.orderId, placeholderSql('orderId')))
      .prepare('sandbox_shipment'),
    create: db
      .insert(sandboxShipments)
      .values({
        orderId: placeholder('orderId'),
        trackingNumber: placeholder('trackingNumber'),
        status: 'created',
        createdAt: placeholder('createdAt'),
      })
      .onConflictDoNothing({ target: sandboxShipments.orderId })
      .returning({ trackingNumber: sandboxShipments.trackingNumber })
      .prepare('sandbox_shipment_create'),
  };
}
