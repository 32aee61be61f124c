/**
 * A refund's row, written beside the order's running total of what it has promised back. The total
 * moves by one conditional update (`refunded_cents + amount <= total_cents`, only on a captured
 * payment), so that no interleaving of requests, on either engine, promises back more than was
 * captured: of two refunds racing for the last cents, the update of the second changes no row.
 * Kept apart from transitions.ts, which writes a compensation's refund through it.
 */
import { and, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import { ulid } from 'ulid';
import { ConflictError } from '../domain/errors.ts';
import { REFUNDABLE_PAYMENTS } from '../domain/payment.ts';
import { refundableCents } from '../domain/refunds.ts';
import type { RefundLine } from './tables/money-back/values.ts';
import type { Tx } from './client.ts';
import { rowsChanged } from './dialect.ts';
import { findOrder } from './orders.ts';

export type RefundRow = Awaited<ReturnType<typeof refundsOf>>[number];

export interface RefundInput {
  amountCents: number;
  reason: string;
  lines?: readonly RefundLine[] | null;
  /** `api-key:<id>`, `admin`, or `service` for a compensation. */
  actor: string;
  returnId?: string | null;
  /** The refund's id; by default a new `rf_…` one. */
  id?: string;
}

/** Every refund of an order, oldest first. */
export function refundsOf(db: Pick<Tx, 'select' | 'tables'>, orderId: string) {
  const { refunds } = db.tables;
  return db.select().from(refunds).where(eq(refunds.orderId, orderId)).orderBy(refunds.createdAt, refunds.id);
}

/**
 * Claims `amountCents` of the order's capture and writes the refund's row, PENDING; call inside
 * the transaction that decides it. Throws a conflict naming what is left when the capture cannot
 * cover it.
 */
export async function openRefund(tx: Tx, orderId: string, input: RefundInput, now: number): Promise<RefundRow> {
  const { orders, refunds } = tx.tables;
  const claimed = rowsChanged(
    await tx
      .update(orders)
      .set({ refundedCents: sql`${orders.refundedCents} + ${input.amountCents}` })
      .where(
        and(
          eq(orders.id, orderId),
          isNotNull(orders.chargeId),
          inArray(orders.paymentStatus, [...REFUNDABLE_PAYMENTS]),
          sql`${orders.refundedCents} + ${input.amountCents} <= ${orders.totalCents}`,
        ),
      ),
  );
  if (claimed === 0) {
    const order = await findOrder(tx, orderId);
    const left = order ? refundableCents(order) : 0;
    throw new ConflictError(
      `Only ${left} cents of this order's payment are left to refund; a refund of ${input.amountCents} cents would pass what was captured.`,
      [{ field: 'amountCents', message: `at most ${left} cents are left to refund` }],
    );
  }
  const [row] = await tx
    .insert(refunds)
    .values({
      id: input.id ?? `rf_${ulid(now)}`,
      orderId,
      amountCents: input.amountCents,
      reason: input.reason,
      status: 'PENDING',
      lines: input.lines ? [...input.lines] : null,
      returnId: input.returnId ?? null,
      actor: input.actor,
      createdAt: now,
    })
    .returning();
  return row!;
}

/**
 * A refund of whatever the capture still holds, for an order that ends after a capture (the
 * compensation `refund`); nothing when earlier refunds took it all. Read inside the transaction
 * that wrote the order's change, so that the order's row is this transaction's to update.
 */
export async function openRemainderRefund(tx: Tx, orderId: string, reason: string, now: number): Promise<RefundRow | undefined> {
  const order = await findOrder(tx, orderId);
  if (!order?.chargeId) return undefined;
  const left = order.totalCents - order.refundedCents;
  if (left <= 0) return undefined;
  return openRefund(tx, orderId, { amountCents: left, reason, actor: 'service' }, now);
}
