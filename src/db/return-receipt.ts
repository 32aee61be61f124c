/**
 * The goods of a return came back (an operator's receipt, or the carrier reporting the parcel
 * back): in one transaction the return becomes RECEIVED, its units move from shipped back to
 * available (and count as returned), and the lines' amount is refunded through a refund of the
 * order (refund-rows.ts), capped at what the capture still holds. A receipt asked for twice
 * restocks and refunds once: the second finds the return no longer REQUESTED.
 */
import { and, eq, gte, sql } from 'drizzle-orm';
import { ConflictError, InvariantViolation, NotFoundError } from '../domain/errors.ts';
import { refundableCents } from '../domain/refunds.ts';
import { applyReturnEvent, RESTOCKED_RETURN_STATUSES } from '../domain/return-machine.ts';
import { quote } from '../domain/text.ts';
import { writeTx, type Db, type Tx } from './client.ts';
import { openRefund } from './refund-rows.ts';
import { findReturn, lockedReturn, type ReturnStepOutcome, type ReturnWithItems } from './returns.ts';
import type { OrderRow } from './schema.ts';
import { STOCK_TX } from './stock.ts';
import { recordFact } from './transitions.ts';

export function receiveReturn(
  db: Db,
  returnId: string,
  actor: string,
  now: number,
): Promise<{ ret: ReturnWithItems; outcome: ReturnStepOutcome }> {
  return writeTx(db, (tx) => receiveIn(tx, returnId, actor, now), STOCK_TX);
}

/**
 * The carrier brought a parcel of an order back: the return its label names (`returnId`), or,
 * when the report names none, every return of the order still REQUESTED. A return of another
 * order is not found; one rejected or cancelled is a conflict, as for an operator. The webhook
 * delivered twice receives nothing the second time.
 */
export function receiveParcel(
  db: Db,
  parcel: { trackingNumber: string; returnId?: string | undefined },
  now: number,
): Promise<ReturnWithItems[]> {
  return writeTx(
    db,
    async (tx) => {
      const { orders, returns } = tx.tables;
      const [order] = await tx.select({ id: orders.id }).from(orders).where(eq(orders.trackingNumber, parcel.trackingNumber));
      if (!order) return [];
      const waiting = await tx
        .select({ id: returns.id })
        .from(returns)
        .where(
          and(
            eq(returns.orderId, order.id),
            parcel.returnId === undefined ? eq(returns.status, 'REQUESTED') : eq(returns.id, parcel.returnId),
          ),
        )
        .orderBy(returns.createdAt, returns.id);
      if (parcel.returnId !== undefined && waiting.length === 0)
        throw new NotFoundError(
          `The order shipped under ${quote(parcel.trackingNumber)} has no return with the id ${quote(parcel.returnId)}.`,
        );
      const received: ReturnWithItems[] = [];
      for (const { id } of waiting) {
        const { ret, outcome } = await receiveIn(tx, id, 'carrier', now);
        if (outcome === 'done') received.push(ret);
      }
      return received;
    },
    STOCK_TX,
  );
}

async function receiveIn(tx: Tx, returnId: string, actor: string, now: number) {
  const { ret, order } = await lockedReturn(tx, returnId);
  const step = applyReturnEvent(ret.status, 'ReturnReceived');
  if (!step.ok) {
    if (RESTOCKED_RETURN_STATUSES.includes(ret.status)) return { ret, outcome: 'already' as const };
    throw new ConflictError(`The return is ${ret.status}: ${step.refusal.message}.`);
  }
  const { returns } = tx.tables;
  await tx.update(returns).set({ status: step.to, updatedAt: now }).where(eq(returns.id, returnId));
  await restock(tx, ret);
  let next = await recordFact(tx, order, 'ReturnReceived', now, {
    data: { returnId, items: ret.items.map(({ sku, quantity }) => ({ sku, quantity })), actor },
  });
  next = await refundLines(tx, next, ret, now);
  return { ret: (await findReturn(tx, returnId))!, outcome: 'done' as const };
}

/**
 * Moves the return's units from shipped back to available, SKU by SKU in SKU order (the order
 * stock-moves.ts takes product rows in), each conditional on the units being shipped.
 */
async function restock(tx: Tx, ret: ReturnWithItems): Promise<void> {
  const { products } = tx.tables;
  for (const item of ret.items.toSorted((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0))) {
    const moved = await tx
      .update(products)
      .set({
        shipped: sql`${products.shipped} - ${item.quantity}`,
        available: sql`${products.available} + ${item.quantity}`,
        returned: sql`${products.returned} + ${item.quantity}`,
      })
      .where(and(eq(products.sku, item.sku), gte(products.shipped, item.quantity)))
      .returning({ sku: products.sku });
    if (moved.length === 0) throw new InvariantViolation(`return ${ret.id}: fewer than ${item.quantity} of ${item.sku} shipped`);
  }
}

/**
 * The refund of the returned lines, at most what the capture still holds (earlier partial refunds
 * may have paid some back); with nothing left to pay, the return is REFUNDED at once.
 */
async function refundLines(tx: Tx, order: OrderRow, ret: ReturnWithItems, now: number): Promise<OrderRow> {
  const worth = ret.items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0);
  const amountCents = Math.min(worth, refundableCents(order));
  if (amountCents <= 0) {
    const step = applyReturnEvent('RECEIVED', 'ReturnRefunded');
    if (!step.ok) throw new InvariantViolation(step.refusal.message);
    const { returns } = tx.tables;
    await tx.update(returns).set({ status: step.to, updatedAt: now }).where(eq(returns.id, ret.id));
    return recordFact(tx, order, 'ReturnRefunded', now, { data: { returnId: ret.id, amountCents: 0 } });
  }
  const refund = await openRefund(
    tx,
    order.id,
    {
      amountCents,
      reason: `return ${ret.id}: ${ret.reason}`,
      lines: ret.items.map(({ sku, quantity }) => ({ sku, quantity })),
      actor: 'service',
      returnId: ret.id,
    },
    now,
  );
  return recordFact(tx, order, 'RefundRequested', now, {
    data: { refundId: refund.id, amountCents, reason: refund.reason, actor: 'service', returnId: ret.id },
  });
}
