/**
 * Refunds of part of an order: `POST /orders/{id}/refunds` (a storefront's API key) and the same
 * under `/admin/orders/{id}/refunds` (the admin token; the two realms never share a route), each
 * safely retried with an Idempotency-Key kept per key; and the order's refunds listed. The sum of
 * an order's refunds never passes its capture (db/refund-rows.ts): one that would is a 409 naming
 * what is left.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Db } from '../db/client.ts';
import { listRefunds, requestRefund } from '../db/refunds.ts';
import { getOrder } from '../db/orders.ts';
import { refundView, type RefundView } from '../views.ts';
import { jsonBody } from './body.ts';
import { ADMIN_SCOPE, fingerprint, scopedIdempotencyKey } from './idempotency-key.ts';
import { RefundBody, RefundListSchema, RefundSchema } from './money-back-schemas.ts';
import { problemResponses } from './problem.ts';
import { createRouter } from './router.ts';
import { ADMIN_SECURITY, API_KEY_SECURITY } from './security.ts';
import { OrderIdParam, PlaceOrderHeaders, json } from './schemas.ts';

export interface RefundsDeps {
  db: Db;
  now: () => number;
  idempotencyTtlMs: number;
  /** Called after each commit that wrote outbox events. */
  onCommit: () => void;
}

/** Which realm mounts the routes: a storefront's API key, or the admin token. */
type Realm = 'client' | 'admin';

function routes(realm: Realm) {
  const admin = realm === 'admin';
  const security = admin ? ADMIN_SECURITY : API_KEY_SECURITY;
  const tags = [admin ? 'Admin' : 'Refunds'];
  const path = admin ? '/orders/{id}/refunds' : '/{id}/refunds';
  return {
    request: createRoute({
      method: 'post',
      path,
      operationId: admin ? 'refundOrderAsAdmin' : 'refundOrder',
      tags,
      summary: admin ? 'Refund part of an order (operator)' : 'Refund part of an order',
      description:
        'Pays back `amountCents` of the order’s captured payment, carried out at the gateway as a job under the refund’s own id ' +
        'and settled on the timeline (`RefundIssued`); the order’s payment becomes `PARTIALLY_REFUNDED`, or `REFUNDED` once ' +
        'its refunds add up to the capture. The refunds of an order never pass what was captured, however many race: one that ' +
        'would is a 409 naming what is left. With an `Idempotency-Key`, a retry answers the first response again ' +
        '(`Idempotent-Replayed: true`); the same key with another body is a 422.',
      security,
      middleware: [jsonBody] as const,
      request: { params: OrderIdParam, headers: PlaceOrderHeaders, body: { ...json(RefundBody), required: true } },
      responses: {
        201: {
          description: 'The refund, PENDING until the gateway has refunded it.',
          headers: z.object({
            'Idempotent-Replayed': z.literal('true').optional().openapi({ description: 'Present on a replay.' }),
          }),
          ...json(RefundSchema),
        },
        ...problemResponses(400, 401, 404, 409, 413, 415, 422, 429),
      },
    }),
    list: createRoute({
      method: 'get',
      path,
      operationId: admin ? 'listOrderRefundsAsAdmin' : 'listOrderRefunds',
      tags,
      summary: 'List an order’s refunds, oldest first',
      description: 'Every refund of the order: those asked for by hand, by a return’s receipt, and the refund of an ended order.',
      security,
      request: { params: OrderIdParam },
      responses: {
        200: { description: 'The order’s refunds.', ...json(RefundListSchema) },
        ...problemResponses(400, 401, 404, 429),
      },
    }),
  };
}

export function refundRoutes(deps: RefundsDeps, realm: Realm) {
  const app = createRouter();
  const { request, list } = routes(realm);

  app.openapi(request, async (c) => {
    const orderId = c.req.valid('param').id;
    const key = c.req.valid('header')['idempotency-key'];
    const body = c.req.valid('json');
    const scope = realm === 'admin' ? ADMIN_SCOPE : c.get('apiKeyId');
    const result = await requestRefund(
      deps.db,
      orderId,
      {
        amountCents: body.amountCents,
        reason: body.reason,
        lines: body.lines ?? null,
        actor: realm === 'admin' ? 'admin' : `api-key:${scope ?? 'unknown'}`,
      },
      deps.now(),
      key === undefined
        ? undefined
        : {
            key: scopedIdempotencyKey(scope, key),
            // The order is part of the request: the same body for another order is another request.
            fingerprint: fingerprint({ refundOf: orderId, ...body }),
            ttlMs: deps.idempotencyTtlMs,
            render: (refund) => JSON.stringify(refundView(refund)),
          },
    );
    if (!result.replayed) {
      deps.onCommit();
      return c.json(refundView(result.refund), 201);
    }
    return c.json(JSON.parse(result.body) as RefundView, result.statusCode as 201, { 'Idempotent-Replayed': 'true' });
  });

  app.openapi(list, async (c) => {
    const orderId = c.req.valid('param').id;
    await getOrder(deps.db, orderId);
    return c.json({ refunds: (await listRefunds(deps.db, orderId)).map(refundView) }, 200);
  });

  return app;
}
