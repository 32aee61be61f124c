/**
 * Placing an order: prices from the catalog, the refusals that come before anything is written,
 * and the one transaction that writes the order with its first timeline entry and OrderPlaced.
 */
import { ulid } from 'ulid';
import { ConflictError, UnprocessableError } from '../domain/errors.ts';
import { INITIAL_PAYMENT_STATUS, INITIAL_STATUS, INITIAL_STOCK } from '../domain/order-machine.ts';
import { quote } from '../domain/text.ts';
import { writeTx, type Db, type Tx } from './client.ts';
import { listValue } from './dialect.ts';
import { findReplay, rememberResponse, type IdempotencyRequest } from './idempotency.ts';
import type { OrderWithItems } from './orders.ts';
import { placeInOneStatement } from './engines/postgres-writes.ts';
import { planWebhooks, writeWebhooks } from './webhook-writes.ts';
import { emit, remember } from './outbox.ts';
import type { OrderItemRow, OrderRow, ShippingAddress } from './schema.ts';
import { statements } from './statements.ts';
import { appendTimeline } from './transitions.ts';
import { currentTraceparent } from '../telemetry/tracing.ts';

const CURRENCY = 'USD';

/**
 * ulid's randomness, drawn from a pool of cryptographically random bytes filled 4 KiB at a time:
 * left to itself, ulid asks the system for one byte per character, sixteen calls per id.
 */
const randomPool = new Uint8Array(4096);
let randomUsed = randomPool.length;
function pooledRandom(): number {
  if (randomUsed === randomPool.length) {
    crypto.getRandomValues(randomPool);
    randomUsed = 0;
  }
  return randomPool[randomUsed++]! / 256;
}

export interface NewOrder {
  customerId: string;
  /** Where the customer's messages go by email, when they gave one. */
  email?: string | null;
  items: { sku: string; quantity: number }[];
  paymentToken: string;
  shippingAddress: ShippingAddress;
}

export type PlaceOrderResult =
  | { replayed: false; order: OrderWithItems }
  | { replayed: true; orderId: string; statusCode: number; body: string };

/** What an order must keep to, beyond its shape. */
export interface PlacementRules {
  /** An order whose total is over this is refused (422). */
  maxTotalCents?: number;
}

/** An idempotency key, and how to turn the new order into the response body kept for replays. */
export interface PlaceOrderIdempotency extends IdempotencyRequest {
  render: (order: OrderWithItems) => string;
}

/**
 * Places an order: prices come from the catalog, and the order, its first timeline entry, its
 * OrderPlaced event and its idempotency key (with the response to replay) are written in one
 * transaction. An order for unknown products, over the total allowed, or for more than is
 * available is refused before anything is written (so nothing is ever charged for it); the
 * reservation after payment still decides between orders that race for the last units.
 */
export function placeOrder(
  db: Db,
  input: NewOrder,
  now: number,
  idempotency?: PlaceOrderIdempotency,
  rules: PlacementRules = {},
): Promise<PlaceOrderResult> {
  // At READ COMMITTED on PostgreSQL: the transaction reads only the catalog (whose stock check is
  // advisory) and the idempotency key. A concurrent first use of the same key that commits first
  // fails this one on the key's primary key; the engine runs it again, and it replays that response.
  return writeTx(
    db,
    async (tx): Promise<PlaceOrderResult> => {
      if (idempotency) {
        const replay = await findReplay(tx, idempotency, now);
        if (replay) return { replayed: true, ...replay };
      }

      const skus = [...new Set(input.items.map((i) => i.sku))];
      const rows = await statements(tx).prices.execute({ skus: listValue(tx, skus) });
      const catalog = new Map(rows.map((p) => [p.sku, p.priceCents]));
      const unknown = input.items
        .map((item, index) => ({ item, index }))
        .filter(({ item }) => !catalog.has(item.sku))
        .map(({ item, index }) => ({
          field: `items.${index}.sku`,
          message: `unknown SKU ${quote(item.sku)}`,
        }));
      if (unknown.length > 0) throw new UnprocessableError('The order names unknown products.', unknown);
      refuseOverTotal(input, catalog, rules.maxTotalCents);
      refuseShortStock(input, new Map(rows.map((p) => [p.sku, p.available])));

      const id = `ord_${ulid(now, pooledRandom)}`;
      const items: OrderItemRow[] = input.items.map((item, line) => ({
        orderId: id,
        line,
        sku: item.sku,
        quantity: item.quantity,
        unitPriceCents: catalog.get(item.sku)!,
      }));
      const totalCents = items.reduce((sum, i) => sum + i.unitPriceCents * i.quantity, 0);
      const order: OrderRow = {
        id,
        status: INITIAL_STATUS,
        paymentStatus: INITIAL_PAYMENT_STATUS,
        stockStatus: INITIAL_STOCK,
        reason: null,
        customerId: input.customerId,
        email: input.email ?? null,
        totalCents,
        currency: CURRENCY,
        paymentToken: input.paymentToken,
        chargeId: null,
        refundedCents: 0,
        shippingAddress: input.shippingAddress,
        trackingNumber: null,
        version: 1,
        createdAt: now,
        updatedAt: now,
      };
      await writeNewOrder(tx, order, items, now);

      const created = { ...order, items };
      if (idempotency) {
        await rememberResponse(tx, idempotency, { orderId: id, statusCode: 201, body: idempotency.render(created) }, now);
      }
      return { replayed: false, order: created };
    },
    { isolation: 'read committed' },
  );
}

/**
 * Writes the order, its lines, its first timeline entry, OrderPlaced and, where an endpoint
 * subscribes, its `order.created` webhook deliveries: one statement on PostgreSQL.
 */
async function writeNewOrder(tx: Tx, order: OrderRow, items: OrderItemRow[], now: number): Promise<void> {
  const data = { totalCents: order.totalCents };
  const webhooks = await planWebhooks(tx, 'OrderPlaced', order, now);
  if (!tx.rawQuery) {
    const prepared = statements(tx);
    await prepared.insertOrder.execute(order);
    for (const item of items) await prepared.insertItem.execute(item);
    await appendTimeline(tx, order.id, 'OrderPlaced', null, INITIAL_STATUS, now, data);
    await emit(tx, order.id, 'OrderPlaced', now);
    if (webhooks) {
      await emit(tx, order.id, 'WebhooksDue', now);
      await writeWebhooks(tx, order.id, webhooks, now);
    }
    return;
  }
  const traceparent = currentTraceparent();
  const { id, webhooksId } = await placeInOneStatement(tx.rawQuery, {
    order,
    lines: items,
    entry: { type: 'OrderPlaced', data: JSON.stringify(data) },
    event: 'OrderPlaced',
    traceparent,
    webhooks,
  });
  remember(tx, { id, orderId: order.id, type: 'OrderPlaced', at: now, traceparent });
  if (webhooksId !== undefined) remember(tx, { id: webhooksId, orderId: order.id, type: 'WebhooksDue', at: now, traceparent });
}

function refuseOverTotal(input: NewOrder, prices: Map<string, number>, maxTotalCents: number | undefined): void {
  if (maxTotalCents === undefined) return;
  const total = input.items.reduce((sum, i) => sum + prices.get(i.sku)! * i.quantity, 0);
  if (total > maxTotalCents) {
    throw new UnprocessableError(`The order's total, ${total} cents, is over the ${maxTotalCents} cents allowed for one order.`, [
      { field: 'items', message: `total ${total} cents is over the limit of ${maxTotalCents} cents` },
    ]);
  }
}

/** Refuses (409) an order asking for more units of a SKU, over all its lines, than are available. */
function refuseShortStock(input: NewOrder, available: Map<string, number>): void {
  const wanted = new Map<string, { quantity: number; line: number }>();
  input.items.forEach((item, line) => {
    const seen = wanted.get(item.sku);
    wanted.set(item.sku, { quantity: (seen?.quantity ?? 0) + item.quantity, line: seen?.line ?? line });
  });
  const short = [...wanted].filter(([sku, w]) => w.quantity > available.get(sku)!);
  if (short.length === 0) return;
  throw new ConflictError(
    `Not enough stock for ${short.map(([sku]) => sku).join(', ')}.`,
    short.map(([sku, w]) => ({
      field: `items.${w.line}.sku`,
      message: `${sku}: ${w.quantity} asked for, ${available.get(sku)!} available`,
    })),
  );
}
