/**
 * Customer routes: place an order (safely retried with an Idempotency-Key), read it and its
 * timeline, cancel it. All of them need an API key (api/api-keys.ts, applied in server.ts).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { cancelOrder } from '../db/cancel.ts';
import type { Db } from '../db/client.ts';
import { recordOperatorAction } from '../db/operator-actions.ts';
import { findOrder, getOrder, getTimeline } from '../db/orders.ts';
import { placeOrder, type PlacementRules } from '../db/placement.ts';
import { annotateSpan } from '../telemetry/tracing.ts';
import { eventView, orderView, type OrderView } from '../views.ts';
import { API_KEY_SECURITY } from './security.ts';
import { jsonBody } from './body.ts';
import { fingerprint, scopedIdempotencyKey } from './idempotency-key.ts';
import { problemResponses } from './problem.ts';
import { createRouter } from './router.ts';
import { OrderIdParam, OrderSchema, PlaceOrderBody, PlaceOrderHeaders, TimelineSchema, json } from './schemas.ts';

export interface OrdersDeps {
  db: Db;
  now: () => number;
  idempotencyTtlMs: number;
  /** Called after each commit that wrote outbox events. */
  onCommit: () => void;
  rules?: PlacementRules;
}

/** The client routes' security scheme, as the OpenAPI document names it. */
const security = API_KEY_SECURITY;

const placeOrderRoute = createRoute({
  method: 'post',
  path: '/',
  operationId: 'placeOrder',
  tags: ['Orders'],
  summary: 'Place an order',
  description:
    'Prices come from the catalog. With an `Idempotency-Key`, a retry of the same request answers the first ' +
    'response again (with `Idempotent-Replayed: true`) and creates nothing; the same key with another body is a 422. ' +
    'Idempotency keys are kept per API key: two storefronts that pick the same key get two orders. ' +
    'An order for more than is available is a 409 naming the SKUs; one whose total is over the limit is a 422.',
  security,
  middleware: [jsonBody] as const,
  request: {
    headers: PlaceOrderHeaders,
    body: { ...json(PlaceOrderBody), required: true },
  },
  responses: {
    201: {
      description: 'The order, created now or by the first request with this Idempotency-Key.',
      headers: z.object({
        Location: z.string().openapi({ example: '/orders/ord_01JD5ZQ0N6W8J7Y3K2V1B0C9XA' }),
        'Idempotent-Replayed': z.literal('true').optional().openapi({ description: 'Present on a replay.' }),
      }),
      ...json(OrderSchema),
    },
    ...problemResponses(400, 401, 409, 413, 415, 422, 429),
  },
});

const getOrderRoute = createRoute({
  method: 'get',
  path: '/{id}',
  operationId: 'getOrder',
  tags: ['Orders'],
  summary: 'Read an order',
  description: 'The order with its lines, total, payment status, shipment and, for a failed or cancelled order, the reason.',
  security,
  request: { params: OrderIdParam },
  responses: { 200: { description: 'The order.', ...json(OrderSchema) }, ...problemResponses(400, 401, 404, 429) },
});

const timelineRoute = createRoute({
  method: 'get',
  path: '/{id}/events',
  operationId: 'getOrderTimeline',
  tags: ['Orders'],
  summary: 'Read an order’s timeline, oldest first',
  description:
    'Every transition of the order (from, to, when) and the facts recorded with it, oldest first. The timeline is append-only.',
  security,
  request: { params: OrderIdParam },
  responses: {
    200: { description: 'Every transition and fact, oldest first.', ...json(TimelineSchema) },
    ...problemResponses(400, 401, 404, 429),
  },
});

const cancelRoute = createRoute({
  method: 'post',
  path: '/{id}/cancel',
  operationId: 'cancelOrder',
  tags: ['Orders'],
  summary: 'Cancel an order',
  description: 'Cancelling a cancelled order answers it as it is. Stock is released and a capture refunded.',
  security,
  request: { params: OrderIdParam },
  responses: {
    200: { description: 'The order, now CANCELLED.', ...json(OrderSchema) },
    ...problemResponses(400, 401, 404, 409, 429),
  },
});

export function ordersRoutes(deps: OrdersDeps) {
  const { db, now } = deps;
  const app = createRouter();

  app.openapi(placeOrderRoute, async (c) => {
    const key = c.req.valid('header')['idempotency-key'];
    const body = c.req.valid('json');
    const result = await placeOrder(
      db,
      {
        customerId: body.customerId,
        email: body.email ?? null,
        items: body.items,
        paymentToken: body.payment.token,
        shippingAddress: body.shippingAddress,
      },
      now(),
      key === undefined
        ? undefined
        : {
            key: scopedIdempotencyKey(c.get('apiKeyId'), key),
            fingerprint: fingerprint(body),
            ttlMs: deps.idempotencyTtlMs,
            render: (order) => JSON.stringify(orderView(order)),
          },
      deps.rules,
    );
    // Lets a trace backend find the order's trace by its id.
    annotateSpan({ 'order.id': result.replayed ? result.orderId : result.order.id });
    if (!result.replayed) {
      deps.onCommit();
      return c.json(orderView(result.order), 201, { Location: `/orders/${result.order.id}` });
    }
    // A replay answers the stored response, byte for byte once serialised again.
    return c.json(JSON.parse(result.body) as OrderView, result.statusCode as 201, {
      Location: `/orders/${result.orderId}`,
      'Idempotent-Replayed': 'true',
    });
  });

  app.openapi(getOrderRoute, async (c) => c.json(orderView(await getOrder(db, c.req.valid('param').id)), 200));

  app.openapi(timelineRoute, async (c) =>
    c.json({ events: (await getTimeline(db, c.req.valid('param').id)).map(eventView) }, 200),
  );

  app.openapi(cancelRoute, async (c) => {
    const id = c.req.valid('param').id;
    const already = (await findOrder(db, id))?.status === 'CANCELLED';
    const before = await cancelOrder(db, id, now());
    deps.onCommit();
    // On the order's timeline: which storefront's key cancelled it.
    await recordOperatorAction(db, {
      orderId: id,
      action: 'cancel',
      actor: `api-key:${c.get('apiKeyId') ?? 'unknown'}`,
      outcome: already ? 'already-cancelled' : 'cancelled',
      at: now(),
    });
    return c.json(orderView(await getOrder(db, before.id)), 200);
  });

  return app;
}
