/**
 * Customer routes: place an order, read it and its timeline, cancel it.
 */
import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { cancelOrder } from '../db/cancel.ts';
import type { Db } from '../db/client.ts';
import { getOrder, getTimeline, placeOrder } from '../db/orders.ts';
import { readJson } from './body.ts';
import { validate } from './problem.ts';
import { IdempotencyKeySchema, PlaceOrderBody, eventView, orderView } from './schemas.ts';

export interface OrdersDeps {
  db: Db;
  now: () => number;
  idempotencyTtlMs: number;
  /** Called after each commit that wrote outbox events. */
  onCommit: () => void;
}

export function ordersRoutes(deps: OrdersDeps): Hono {
  const { db, now } = deps;
  const app = new Hono();

  app.post('/', async (c) => {
    const rawKey = c.req.header('idempotency-key');
    const key = rawKey === undefined ? undefined : validate(IdempotencyKeySchema, rawKey, 'Idempotency-Key header');
    const body = validate(PlaceOrderBody, await readJson(c));
    const result = placeOrder(
      db,
      {
        customerId: body.customerId,
        items: body.items,
        paymentToken: body.payment.token,
        shippingAddress: body.shippingAddress,
      },
      now(),
      (order) => JSON.stringify(orderView(order)),
      key === undefined ? undefined : { key, fingerprint: fingerprint(body), ttlMs: deps.idempotencyTtlMs },
    );
    if (!result.replayed) deps.onCommit();
    const orderId = result.replayed ? result.orderId : result.order.id;
    return c.body(result.body, 201, {
      'Content-Type': 'application/json',
      Location: `/orders/${orderId}`,
      ...(result.replayed ? { 'Idempotent-Replayed': 'true' } : {}),
    });
  });

  app.get('/:id', (c) => c.json(orderView(getOrder(db, c.req.param('id')))));

  app.get('/:id/events', (c) => c.json({ events: getTimeline(db, c.req.param('id')).map(eventView) }));

  app.post('/:id/cancel', (c) => {
    const id = c.req.param('id');
    const before = cancelOrder(db, id, now());
    deps.onCommit();
    return c.json(orderView(getOrder(db, before.id)));
  });

  return app;
}

/** The same request, whatever its key order or spacing, gives the same fingerprint. */
function fingerprint(body: PlaceOrderBody): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
