/**
 * Refunds, as the API and the refund service see them: a refund asked for part of an order (with
 * its Idempotency-Key), the refunds waiting for the gateway, and a refund the gateway settled,
 * recorded with the payment status the order's refunds now give.
 */
import { and, eq, sql } from 'drizzle-orm';
import { ConflictError, InvariantViolation, NotFoundError, UnprocessableError, type FieldIssue } from '../domain/errors.ts';
import { REFUNDABLE_PAYMENTS } from '../domain/payment.ts';
import { awaitsRefund } from '../domain/order-machine.ts';
import { paymentAfterRefund } from '../domain/refunds.ts';
import { applyReturnEvent } from '../domain/return-machine.ts';
import { quote } from '../domain/text.ts';
import { writeTx, type Db, type Tx } from './client.ts';
import { findReplay, rememberResponse, type IdempotencyRequest } from './idempotency.ts';
import { findOrder, lockOrder, orderItemsOf } from './orders.ts';
import { openRefund, refundsOf, type RefundInput, type RefundRow } from './refund-rows.ts';
import type { OrderRow } from './schema.ts';
import { recordFact } from './transitions.ts';

export type { RefundRow } from './refund-rows.ts';

export type RequestRefundResult = { replayed: false; refund: RefundRow } | { replayed: true; statusCode: number; body: string };

/** An idempotency key, and how to turn the new refund into the response body kept for replays. */
export type RefundIdempotency = IdempotencyRequest & { render: (refund: RefundRow) => string };

/**
 * Asks for a refund of part of an order: checks the lines it names against the order, claims the
 * amount of the capture (refund-rows.ts: never more than is left, under any concurrency), and
 * writes the refund, its timeline entry and its RefundRequested event in one transaction.
 */
export function requestRefund(
  db: Db,
  orderId: string,
  input: RefundInput,
  now: number,
  idempotency?: RefundIdempotency,
): Promise<RequestRefundResult> {
  return writeTx(db, async (tx): Promise<RequestRefundResult> => {
    if (idempotency) {
      const replay = await findReplay(tx, idempotency, now);
      if (replay) return { replayed: true, statusCode: replay.statusCode, body: replay.body };
    }
    const order = await findOrder(tx, orderId);
    if (!order) throw new NotFoundError(`No order has the id ${quote(orderId)}.`);
    if (!REFUNDABLE_PAYMENTS.includes(order.paymentStatus)) {
      throw new ConflictError(`The order's payment is ${order.paymentStatus}: there is no captured payment left to refund.`);
    }
    if (input.lines) await checkLines(tx, order, input);
    const refund = await openRefund(tx, orderId, input, now);
    await recordFact(tx, order, 'RefundRequested', now, {
      data: { refundId: refund.id, amountCents: refund.amountCents, reason: refund.reason, actor: refund.actor },
    });
    if (idempotency) {
      await rememberResponse(tx, idempotency, { orderId, statusCode: 201, body: idempotency.render(refund) }, now);
    }
    return { replayed: false, refund };
  });
}

/** The lines a refund names are the order's, no more units than it has, and worth the amount. */
async function checkLines(tx: Tx, order: OrderRow, input: RefundInput): Promise<void> {
  const ordered = new Map<string, { quantity: number; unitPriceCents: number }>();
  for (const item of await orderItemsOf(tx, order.id)) {
    const seen = ordered.get(item.sku);
    ordered.set(item.sku, { quantity: (seen?.quantity ?? 0) + item.quantity, unitPriceCents: item.unitPriceCents });
  }
  const issues: FieldIssue[] = [];
  const named = new Map<string, number>();
  let worth = 0;
  for (const [i, line] of (input.lines ?? []).entries()) {
    const item = ordered.get(line.sku);
    if (!item) {
      issues.push({ field: `lines.${i}.sku`, message: `${quote(line.sku)} is not on the order` });
      continue;
    }
    const total = (named.get(line.sku) ?? 0) + line.quantity;
    named.set(line.sku, total);
    if (total > item.quantity)
      issues.push({ field: `lines.${i}.quantity`, message: `the order has ${item.quantity} of ${line.sku}` });
    worth += line.quantity * item.unitPriceCents;
  }
  if (issues.length === 0 && input.amountCents > worth) {
    issues.push({ field: 'amountCents', message: `the lines named are worth ${worth} cents` });
  }
  if (issues.length > 0) throw new UnprocessableError('The refund does not match the order.', issues);
}

export function listRefunds(db: Db, orderId: string): Promise<RefundRow[]> {
  return refundsOf(db, orderId);
}

/** What a refund step carries out: the order's refunds that wait for the gateway, and its charge. */
export interface RefundPlan {
  orderId: string;
  chargeId: string;
  refunds: RefundRow[];
}

/**
 * For a RefundRequested job: the order's refunds that wait for the gateway, with its charge, read
 * from committed rows (the step only looks: its record settles a refund only while it is PENDING).
 */
export async function planRefunds(db: Db, orderId: string, now: number): Promise<RefundPlan | undefined> {
  const order = await findOrder(db, orderId);
  if (!order) return undefined;
  let all = await refundsOf(db, orderId);
  if (all.length === 0 && awaitsRefund(order) && order.chargeId) all = await adoptEarlierRefund(db, orderId, now);
  const pending = all.filter((r) => r.status === 'PENDING');
  if (pending.length === 0) return undefined;
  if (!order.chargeId) throw new InvariantViolation(`order ${orderId}: refund pending without a charge`);
  return { orderId, chargeId: order.chargeId, refunds: pending };
}

/**
 * An order that came to wait for its full refund before refunds had rows (a database from an
 * earlier version): its refund is written now, under the gateway key that version used, so that a
 * refund it had already asked for is answered again rather than made twice. Checked again in the
 * transaction: two jobs may find it at once.
 */
function adoptEarlierRefund(db: Db, orderId: string, now: number): Promise<RefundRow[]> {
  return writeTx(db, async (tx) => {
    const order = await lockOrder(tx, orderId);
    const all = await refundsOf(tx, orderId);
    if (!order?.chargeId || all.length > 0 || !awaitsRefund(order)) return all;
    const reason = order.reason ?? 'PaymentCapturedLate';
    return [
      await openRefund(tx, orderId, { id: `refund-${orderId}`, amountCents: order.totalCents, reason, actor: 'service' }, now),
    ];
  });
}

/** Records the refunds the gateway made (`recordRefundIssued` each); answers how many were new. */
export async function recordRefundsIssued(
  tx: Tx,
  issued: readonly { refundId: string; gatewayRefundId: string }[],
  now: number,
): Promise<number> {
  let recorded = 0;
  for (const { refundId, gatewayRefundId } of issued)
    if (await recordRefundIssued(tx, refundId, gatewayRefundId, now)) recorded++;
  return recorded;
}

/**
 * Records a refund the gateway made: the refund SUCCEEDED, its RefundIssued entry with the payment
 * status the order's refunds now give, and, for a return's refund, the return REFUNDED. A refund
 * recorded already (a job run twice) changes nothing.
 */
async function recordRefundIssued(tx: Tx, refundId: string, gatewayRefundId: string, now: number): Promise<boolean> {
  const { refunds, returns } = tx.tables;
  const [refund] = await tx.select().from(refunds).where(eq(refunds.id, refundId));
  if (!refund) return false;
  const order = await lockOrder(tx, refund.orderId);
  if (!order) return false;
  const settled = await tx
    .update(refunds)
    .set({ status: 'SUCCEEDED', gatewayRefundId, settledAt: now })
    .where(and(eq(refunds.id, refundId), eq(refunds.status, 'PENDING')))
    .returning({ id: refunds.id });
  if (settled.length === 0) return false;
  const [sums] = await tx
    .select({
      settledCents: sql<number>`coalesce(sum(case when ${refunds.status} = 'SUCCEEDED' then ${refunds.amountCents} else 0 end), 0)`,
      pending: sql<number>`coalesce(sum(case when ${refunds.status} = 'PENDING' then 1 else 0 end), 0)`,
    })
    .from(refunds)
    .where(eq(refunds.orderId, refund.orderId));
  const paymentStatus = paymentAfterRefund(order, Number(sums!.settledCents), Number(sums!.pending));
  let next = await recordFact(tx, order, 'RefundIssued', now, {
    paymentStatus,
    data: {
      refundId,
      amountCents: refund.amountCents,
      gatewayRefundId,
      ...(refund.returnId ? { returnId: refund.returnId } : {}),
    },
  });
  if (refund.returnId) {
    const [ret] = await tx.select().from(returns).where(eq(returns.id, refund.returnId));
    const step = ret && applyReturnEvent(ret.status, 'ReturnRefunded');
    if (step?.ok) {
      await tx.update(returns).set({ status: step.to, updatedAt: now }).where(eq(returns.id, refund.returnId));
      next = await recordFact(tx, next, 'ReturnRefunded', now, { data: { returnId: refund.returnId, refundId } });
    }
  }
  return true;
}
