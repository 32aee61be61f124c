/**
 * Writes that PostgreSQL does in one statement where SQLite runs several: each statement is a
 * round trip to the server, and a round trip costs both processes more CPU than the work in it.
 * Data-modifying CTEs put an order's row, its timeline entry and its outbox rows (and, when it is
 * placed, its lines) in one statement; foreign keys are checked at the statement's end, when every
 * row of it is there. SQLite, in process, runs the same writes one statement each
 * (src/db/transitions.ts, src/db/placement.ts), with the same result.
 */
import type { RawQuery } from '../client.ts';
import type { StockMove } from '../stock-moves.ts';
import type { PlannedWebhooks } from '../webhook-writes.ts';

/** What one change of an order writes: the order's changed fields, its timeline entry, its events. */
export interface OrderChange {
  order: {
    id: string;
    status: string;
    reason: string | null;
    paymentStatus: string;
    stockStatus: string;
    trackingNumber: string | null;
    chargeId: string | null;
    version: number;
  };
  /** The change's time: the order's updatedAt, the entry's time, and the events' createdAt. */
  at: number;
  entry: { type: string; from: string | null; to: string; data: string | null };
  events: { type: string; delayMs: number }[];
  traceparent: string | null;
  /** The stock the change moves by the order's lines, last (stock-moves.ts). */
  stock?: StockMove;
  /** The webhook events and deliveries it causes, when an endpoint subscribes (webhook-writes.ts). */
  webhooks?: PlannedWebhooks | undefined;
}

/**
 * The webhook events of a change and their deliveries, as CTEs to join its statement: parameters
 * from `$first` on (`webhookValues`), the order id in `orderId` and the change's time in `at`.
 * Deliveries go only to endpoints enabled when the statement runs: the plan came from a list that
 * may be a moment old (db/webhook-subscribers.ts).
 */
export function webhookCtes(first: number, orderId: string, at: string): string {
  const p = (i: number) => `$${first + i}`;
  return `, wh_events AS (
  INSERT INTO webhook_events (id, order_id, type, order_version, occurred_at, snapshot)
  SELECT e.id, ${orderId}, e.type, ${p(2)}::integer, ${at}, ${p(3)}::json
  FROM unnest(${p(0)}::text[], ${p(1)}::text[]) AS e(id, type)
), wh_deliveries AS (
  INSERT INTO webhook_deliveries (id, event_id, endpoint_id, order_id, status, attempts, next_attempt_at, window_start, created_at)
  SELECT d.id, d.event_id, d.endpoint_id, ${orderId}, 'PENDING', 0, ${at}, ${at}, ${at}
  FROM unnest(${p(4)}::text[], ${p(5)}::text[], ${p(6)}::text[]) AS d(id, event_id, endpoint_id)
  JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.enabled
)`;
}

/** The values of `webhookCtes`'s parameters, in their order. */
export function webhookValues(planned: PlannedWebhooks): unknown[] {
  return [
    planned.events.map((e) => e.id),
    planned.events.map((e) => e.type),
    planned.orderVersion,
    JSON.stringify(planned.snapshot),
    planned.deliveries.map((d) => d.id),
    planned.deliveries.map((d) => d.eventId),
    planned.deliveries.map((d) => d.endpointId),
  ];
}

/**
 * The stock moves, by the order's lines summed per SKU. A reservation moves only the SKUs with
 * enough available; fewer rows moved than SKUs wanted is a short line.
 */
const STOCK_SET: Record<StockMove, string> = {
  reserve: 'available = p.available - l.q, reserved = p.reserved + l.q',
  ship: 'reserved = p.reserved - l.q, shipped = p.shipped + l.q',
  release: 'reserved = p.reserved - l.q, available = p.available + l.q',
};

/**
 * The order's update, its timeline entry, its outbox rows and the stock it moves, in one statement
 * (data-modifying CTEs). The events are inserted in their order, so their ids rise with it.
 */
function changeStatement(stock: StockMove | undefined, webhooks: boolean): { name: string; text: string } {
  const moves = stock
    ? `, lines AS (
  SELECT sku, sum(quantity)::integer AS q FROM order_items WHERE order_id = $1 GROUP BY sku
), moved AS (
  UPDATE products p SET ${STOCK_SET[stock]}
  FROM lines l WHERE p.sku = l.sku${stock === 'reserve' ? ' AND p.available >= l.q' : ''}
  RETURNING p.sku
)`
    : '';
  return {
    name: `${stock ? `order_change_${stock}` : 'order_change'}${webhooks ? '_webhooks' : ''}`,
    text: `WITH changed AS (
  UPDATE orders SET status = $2, reason = $3, payment_status = $4, stock_status = $5,
    tracking_number = $6, charge_id = $7, updated_at = $8, version = $16
  WHERE id = $1
), entry AS (
  INSERT INTO order_events (order_id, type, from_status, to_status, at, data)
  VALUES ($1, $9, $10, $11, $8, $12::json)
), events AS (
  INSERT INTO outbox (order_id, type, created_at, run_at, redrive, traceparent)
  SELECT $1, e.type, $8, $8 + e.delay_ms, 0, $13
  FROM unnest($14::text[], $15::bigint[]) WITH ORDINALITY AS e(type, delay_ms, n)
  ORDER BY e.n
  RETURNING id
)${moves}${webhooks ? webhookCtes(17, '$1', '$8') : ''}
SELECT (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM events) AS ids,
  ${stock ? '(SELECT count(*) FROM moved) < (SELECT count(*) FROM lines)' : 'false'} AS short`,
  };
}

const CHANGE_STATEMENTS = new Map(
  ([undefined, 'reserve', 'ship', 'release'] as const).flatMap((stock) =>
    [false, true].map((webhooks) => [`${stock}-${webhooks}`, changeStatement(stock, webhooks)] as const),
  ),
);

/**
 * Writes `change` on PostgreSQL, answering its events' outbox ids in their order and whether a
 * reservation found a line short (the caller then rolls the transaction back).
 */
export async function writeChangeInOneStatement(
  rawQuery: RawQuery,
  change: OrderChange,
): Promise<{ ids: number[]; short: boolean }> {
  const { order, at, entry, events } = change;
  const { rows } = await rawQuery({
    ...CHANGE_STATEMENTS.get(`${change.stock}-${change.webhooks !== undefined}`)!,
    values: [
      order.id,
      order.status,
      order.reason,
      order.paymentStatus,
      order.stockStatus,
      order.trackingNumber,
      order.chargeId,
      at,
      entry.type,
      entry.from,
      entry.to,
      entry.data,
      change.traceparent,
      events.map((e) => e.type),
      events.map((e) => e.delayMs),
      order.version,
      ...(change.webhooks ? webhookValues(change.webhooks) : []),
    ],
  });
  const row = rows[0] as { ids: (string | number)[]; short: boolean };
  return { ids: row.ids.map(Number), short: row.short };
}

/** A new order as placement writes it: the order, its lines, its first timeline entry and event. */
export interface Placement {
  order: {
    id: string;
    status: string;
    paymentStatus: string;
    stockStatus: string;
    customerId: string;
    email: string | null;
    totalCents: number;
    currency: string;
    paymentToken: string;
    shippingAddress: unknown;
    createdAt: number;
  };
  lines: { line: number; sku: string; quantity: number; unitPriceCents: number }[];
  entry: { type: string; data: string | null };
  event: string;
  traceparent: string | null;
  /** Its `order.created` deliveries, when an endpoint subscribes (webhook-writes.ts). */
  webhooks?: PlannedWebhooks | undefined;
}

/** The order, its lines and its first timeline entry: the CTEs every placement starts with. */
const PLACE_CTES = `WITH placed AS (
  INSERT INTO orders (id, status, payment_status, stock_status, reason, customer_id, email, total_cents,
    currency, payment_token, charge_id, shipping_address, tracking_number, created_at, updated_at)
  VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8, $9, NULL, $10::json, NULL, $11, $11)
), lines AS (
  INSERT INTO order_items (order_id, line, sku, quantity, unit_price_cents)
  SELECT $1, l.line, l.sku, l.quantity, l.price
  FROM unnest($12::integer[], $13::text[], $14::integer[], $15::integer[]) AS l(line, sku, quantity, price)
), entry AS (
  INSERT INTO order_events (order_id, type, from_status, to_status, at, data)
  VALUES ($1, $16, NULL, $2, $11, $17::json)
)`;

/** The placement's event in the outbox. */
const PLACED_EVENT = `INSERT INTO outbox (order_id, type, created_at, run_at, redrive, traceparent)
VALUES ($1, $18, $11, $11, 0, $19)
RETURNING id`;

const PLACE = `${PLACE_CTES}
${PLACED_EVENT}`;

/** The same, with the webhook events of the placement and an outbox row that hands them on. */
const PLACE_WITH_WEBHOOKS = `${PLACE_CTES}${webhookCtes(20, '$1', '$11')}, placed_event AS (
  ${PLACED_EVENT}
), webhooks_due AS (
  INSERT INTO outbox (order_id, type, created_at, run_at, redrive, traceparent)
  SELECT $1, 'WebhooksDue', $11, $11, 0, $19 FROM placed_event
  RETURNING id
)
SELECT (SELECT id FROM placed_event) AS id, (SELECT id FROM webhooks_due) AS webhooks_id`;

/**
 * Writes a new order on PostgreSQL, answering its event's outbox id and, with webhook deliveries,
 * the id of the row that hands them on.
 */
export async function placeInOneStatement(
  rawQuery: RawQuery,
  placement: Placement,
): Promise<{ id: number; webhooksId?: number }> {
  const { order, lines, entry, webhooks } = placement;
  const { rows } = await rawQuery({
    name: webhooks ? 'order_place_webhooks' : 'order_place',
    text: webhooks ? PLACE_WITH_WEBHOOKS : PLACE,
    values: [
      order.id,
      order.status,
      order.paymentStatus,
      order.stockStatus,
      order.customerId,
      order.email,
      order.totalCents,
      order.currency,
      order.paymentToken,
      JSON.stringify(order.shippingAddress),
      order.createdAt,
      lines.map((l) => l.line),
      lines.map((l) => l.sku),
      lines.map((l) => l.quantity),
      lines.map((l) => l.unitPriceCents),
      entry.type,
      entry.data,
      placement.event,
      placement.traceparent,
      ...(webhooks ? webhookValues(webhooks) : []),
    ],
  });
  const row = rows[0]!;
  return webhooks ? { id: Number(row.id), webhooksId: Number(row.webhooks_id) } : { id: Number(row.id) };
}
