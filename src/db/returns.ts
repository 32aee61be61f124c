/**
 * Returns of an order, as the API and the console see them: opening one for units that shipped
 * and have not come back (never more, under any concurrency: every write of an order's returns
 * holds the order's row first), reading them, and the steps that end one without the goods
 * coming back (rejected by an operator, cancelled by the customer). The receipt, which moves
 * stock and money, is db/return-receipt.ts.
 */
import { and, asc, eq, inArray } from 'drizzle-orm';
import { ulid } from 'ulid';
import { ConflictError, NotFoundError, UnprocessableError, type FieldIssue } from '../domain/errors.ts';
import {
  applyReturnEvent,
  CLAIMING_RETURN_STATUSES,
  INITIAL_RETURN_STATUS,
  OPEN_RETURN_STATUSES,
  type ReturnEvent,
} from '../domain/return-machine.ts';
import { quote } from '../domain/text.ts';
import { writeTx, type Db, type Tx } from './client.ts';
import { findReplay, rememberResponse, type IdempotencyRequest } from './idempotency.ts';
import { lockOrder, orderItemsOf } from './orders.ts';
import type { OrderRow } from './schema.ts';
import { STOCK_TX } from './stock.ts';
import { recordFact } from './transitions.ts';

/** Orders whose goods may be sent back: they left the warehouse. */
const RETURNABLE_ORDER_STATUSES = ['SHIPPED', 'COMPLETED'] as const;

export interface ReturnLineInput {
  sku: string;
  quantity: number;
}

export interface ReturnWithItems {
  id: string;
  orderId: string;
  status: (typeof OPEN_RETURN_STATUSES)[number] | 'REFUNDED' | 'REJECTED' | 'CANCELLED';
  reason: string;
  createdAt: number;
  updatedAt: number;
  items: { sku: string; quantity: number; unitPriceCents: number }[];
  /** The refund of its lines, once it was received. */
  refund: { id: string; amountCents: number; status: 'PENDING' | 'SUCCEEDED' } | null;
}

export type OpenReturnResult = { replayed: false; ret: ReturnWithItems } | { replayed: true; statusCode: number; body: string };

export interface ReturnRules {
  /** How long after delivery a return may be opened. */
  windowMs: number;
}

/**
 * Opens a return of a shipped or delivered order for units that shipped and that no other return
 * claims, within the window after delivery; writes it, its lines and its ReturnRequested entry.
 */
export function openReturn(
  db: Db,
  orderId: string,
  input: { items: readonly ReturnLineInput[]; reason: string; actor: string },
  now: number,
  rules: ReturnRules,
  idempotency?: IdempotencyRequest & { render: (ret: ReturnWithItems) => string },
): Promise<OpenReturnResult> {
  return writeTx(
    db,
    async (tx): Promise<OpenReturnResult> => {
      if (idempotency) {
        const replay = await findReplay(tx, idempotency, now);
        if (replay) return { replayed: true, statusCode: replay.statusCode, body: replay.body };
      }
      const order = await lockOrder(tx, orderId);
      if (!order) throw new NotFoundError(`No order has the id ${quote(orderId)}.`);
      if (!(RETURNABLE_ORDER_STATUSES as readonly string[]).includes(order.status)) {
        throw new ConflictError(`The order is ${order.status}: only a shipped or delivered order can be returned.`);
      }
      const deliveredAt = await deliveredAtOf(tx, order);
      if (deliveredAt !== undefined && now > deliveredAt + rules.windowMs) {
        throw new ConflictError(
          `The return window closed on ${new Date(deliveredAt + rules.windowMs).toISOString()}, ${Math.round(rules.windowMs / 86_400_000)} days after delivery.`,
        );
      }
      const lines = await checkReturnable(tx, order, input.items);
      const id = `rt_${ulid(now)}`;
      const { returns, returnItems } = tx.tables;
      await tx
        .insert(returns)
        .values({ id, orderId, status: INITIAL_RETURN_STATUS, reason: input.reason, createdAt: now, updatedAt: now });
      await tx.insert(returnItems).values(lines.map((l) => ({ returnId: id, ...l })));
      await recordFact(tx, order, 'ReturnRequested', now, {
        data: {
          returnId: id,
          items: lines.map(({ sku, quantity }) => ({ sku, quantity })),
          reason: input.reason,
          actor: input.actor,
        },
      });
      const ret = (await returnsWithItems(tx, [id]))[0]!;
      if (idempotency) await rememberResponse(tx, idempotency, { orderId, statusCode: 201, body: idempotency.render(ret) }, now);
      return { replayed: false, ret };
    },
    STOCK_TX,
  );
}

/** When the carrier reported the order delivered, if it did. */
async function deliveredAtOf(tx: Tx, order: OrderRow): Promise<number | undefined> {
  if (order.status !== 'COMPLETED') return undefined;
  const { orderEvents } = tx.tables;
  const [delivered] = await tx
    .select({ at: orderEvents.at })
    .from(orderEvents)
    .where(and(eq(orderEvents.orderId, order.id), eq(orderEvents.type, 'Delivered')))
    .limit(1);
  return delivered?.at ?? order.updatedAt;
}

/**
 * The lines asked for, one per SKU, priced as the order was; refused, naming the field, for a SKU
 * not on the order or more units than shipped less those other returns claim.
 */
async function checkReturnable(tx: Tx, order: OrderRow, items: readonly ReturnLineInput[]) {
  const shipped = new Map<string, { quantity: number; unitPriceCents: number }>();
  for (const item of await orderItemsOf(tx, order.id)) {
    const seen = shipped.get(item.sku);
    shipped.set(item.sku, { quantity: (seen?.quantity ?? 0) + item.quantity, unitPriceCents: item.unitPriceCents });
  }
  const claimed = await claimedUnits(tx, order.id);
  const asked = new Map<string, number>();
  const issues: FieldIssue[] = [];
  for (const [i, line] of items.entries()) {
    const item = shipped.get(line.sku);
    if (!item) {
      issues.push({ field: `items.${i}.sku`, message: `${quote(line.sku)} is not on the order` });
      continue;
    }
    const total = (asked.get(line.sku) ?? 0) + line.quantity;
    asked.set(line.sku, total);
    const left = item.quantity - (claimed.get(line.sku) ?? 0);
    if (total > left) {
      issues.push({
        field: `items.${i}.quantity`,
        message: `${left} of ${line.sku} can still be returned (${item.quantity} shipped)`,
      });
    }
  }
  if (issues.length > 0) throw new UnprocessableError('The return asks for more than can be returned.', issues);
  return [...asked].map(([sku, quantity]) => ({ sku, quantity, unitPriceCents: shipped.get(sku)!.unitPriceCents }));
}

/** Units of each SKU that the order's returns claim (all but those rejected or cancelled). */
async function claimedUnits(tx: Tx, orderId: string): Promise<Map<string, number>> {
  const { returns, returnItems } = tx.tables;
  const rows = await tx
    .select({ sku: returnItems.sku, quantity: returnItems.quantity })
    .from(returnItems)
    .innerJoin(returns, eq(returns.id, returnItems.returnId))
    .where(and(eq(returns.orderId, orderId), inArray(returns.status, [...CLAIMING_RETURN_STATUSES])));
  const claimed = new Map<string, number>();
  for (const r of rows) claimed.set(r.sku, (claimed.get(r.sku) ?? 0) + r.quantity);
  return claimed;
}

/** The returns of these ids, each with its lines and refund, in the order asked. */
export async function returnsWithItems(db: Db | Tx, ids: readonly string[]): Promise<ReturnWithItems[]> {
  if (ids.length === 0) return [];
  const { returns, returnItems, refunds } = db.tables;
  const rows = await db
    .select()
    .from(returns)
    .where(inArray(returns.id, [...ids]));
  const items = await db
    .select()
    .from(returnItems)
    .where(inArray(returnItems.returnId, [...ids]));
  const paid = await db
    .select({ id: refunds.id, returnId: refunds.returnId, amountCents: refunds.amountCents, status: refunds.status })
    .from(refunds)
    .where(inArray(refunds.returnId, [...ids]));
  return ids.flatMap((id) => {
    const row = rows.find((r) => r.id === id);
    if (!row) return [];
    const refund = paid.find((p) => p.returnId === id);
    return [
      {
        ...row,
        items: items
          .filter((i) => i.returnId === id)
          .map(({ sku, quantity, unitPriceCents }) => ({ sku, quantity, unitPriceCents })),
        refund: refund ? { id: refund.id, amountCents: refund.amountCents, status: refund.status } : null,
      },
    ];
  });
}

/** An order's returns, oldest first; a 404 for an unknown order. */
export async function listReturns(db: Db, orderId: string): Promise<ReturnWithItems[]> {
  const { returns, orders } = db.tables;
  const [order] = await db.select({ id: orders.id }).from(orders).where(eq(orders.id, orderId));
  if (!order) throw new NotFoundError(`No order has the id ${quote(orderId)}.`);
  const rows = await db
    .select({ id: returns.id })
    .from(returns)
    .where(eq(returns.orderId, orderId))
    .orderBy(asc(returns.createdAt), asc(returns.id));
  return returnsWithItems(
    db,
    rows.map((r) => r.id),
  );
}

/** Returns still open (waiting for the goods, or for their refund), oldest first. */
export async function listOpenReturns(db: Db, limit: number): Promise<ReturnWithItems[]> {
  const { returns } = db.tables;
  const rows = await db
    .select({ id: returns.id })
    .from(returns)
    .where(inArray(returns.status, [...OPEN_RETURN_STATUSES]))
    .orderBy(asc(returns.createdAt), asc(returns.id))
    .limit(limit);
  return returnsWithItems(
    db,
    rows.map((r) => r.id),
  );
}

/** One return, with its lines and refund. */
export async function findReturn(db: Db | Tx, id: string): Promise<ReturnWithItems | undefined> {
  return (await returnsWithItems(db, [id]))[0];
}

export type ReturnStepOutcome = 'done' | 'already';

/**
 * Ends a REQUESTED return without the goods coming back: `ReturnRejected` (an operator) or
 * `ReturnCancelled` (the customer). Asking again for the step it already took answers it as it is;
 * any other step from where it stands is a conflict. With `orderId`, the return must be that
 * order's (a customer names both).
 */
export function endReturn(
  db: Db,
  returnId: string,
  event: Extract<ReturnEvent, 'ReturnRejected' | 'ReturnCancelled'>,
  input: { actor: string; reason?: string; orderId?: string },
  now: number,
): Promise<{ ret: ReturnWithItems; outcome: ReturnStepOutcome }> {
  return writeTx(
    db,
    async (tx) => {
      const found = await lockedReturn(tx, returnId, input.orderId);
      const step = applyReturnEvent(found.ret.status, event);
      if (!step.ok) {
        if (found.ret.status === (event === 'ReturnRejected' ? 'REJECTED' : 'CANCELLED'))
          return { ret: found.ret, outcome: 'already' };
        throw new ConflictError(`The return is ${found.ret.status}: ${step.refusal.message}.`);
      }
      const { returns } = tx.tables;
      await tx.update(returns).set({ status: step.to, updatedAt: now }).where(eq(returns.id, returnId));
      await recordFact(tx, found.order, event, now, {
        data: { returnId, actor: input.actor, ...(input.reason ? { reason: input.reason } : {}) },
      });
      return { ret: (await findReturn(tx, returnId))!, outcome: 'done' };
    },
    STOCK_TX,
  );
}

/** The return and its order, the order's row held (every write of an order's returns takes it first). */
export async function lockedReturn(
  tx: Tx,
  returnId: string,
  orderId?: string,
): Promise<{ ret: ReturnWithItems; order: OrderRow }> {
  const { returns } = tx.tables;
  const [row] = await tx.select({ orderId: returns.orderId }).from(returns).where(eq(returns.id, returnId));
  if (!row || (orderId !== undefined && row.orderId !== orderId))
    throw new NotFoundError(`No return has the id ${quote(returnId)}.`);
  const order = await lockOrder(tx, row.orderId);
  if (!order) throw new NotFoundError(`No order has the id ${quote(row.orderId)}.`);
  // Read after the lock: what another writer of this order's returns committed before is seen.
  const ret = (await findReturn(tx, returnId))!;
  return { ret, order };
}
