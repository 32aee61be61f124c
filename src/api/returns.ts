/**
 * Returns, as a storefront opens and follows them: `POST /orders/{id}/returns` for units of a
 * shipped or delivered order (within RETURN_WINDOW_DAYS of delivery, never more than shipped and
 * not yet claimed by another return), the order's returns listed, and a return cancelled while
 * the goods have not come back. The operator's side (receive, reject) is api/admin-returns.ts.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Db } from '../db/client.ts';
import { recordOperatorAction } from '../db/operator-actions.ts';
import { endReturn, listReturns, openReturn } from '../db/returns.ts';
import { returnView, type ReturnView } from '../views.ts';
import { jsonBody } from './body.ts';
import { fingerprint, scopedIdempotencyKey } from './idempotency-key.ts';
import { ReturnBody, ReturnIdParam, ReturnListSchema, ReturnSchema } from './money-back-schemas.ts';
import { problemResponses } from './problem.ts';
import { createRouter } from './router.ts';
import { API_KEY_SECURITY } from './security.ts';
import { OrderIdParam, PlaceOrderHeaders, json } from './schemas.ts';

export interface ReturnsDeps {
  db: Db;
  now: () => number;
  idempotencyTtlMs: number;
  /** How many days after delivery a return may be opened. */
  returnWindowDays: number;
  onCommit: () => void;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const security = API_KEY_SECURITY;

const openRoute = createRoute({
  method: 'post',
  path: '/{id}/returns',
  operationId: 'openReturn',
  tags: ['Returns'],
  summary: 'Open a return',
  description:
    'For a SHIPPED or COMPLETED order, within RETURN_WINDOW_DAYS of delivery: units that shipped and that no other return ' +
    'claims. The return starts REQUESTED; once the goods are back (an operator’s receipt, or the carrier reporting the ' +
    'parcel back) it is RECEIVED, the units go back on sale and their amount is refunded, and then it is REFUNDED. ' +
    'More units than can be returned is a 422 naming the line; an order not shipped, or past the window, is a 409. ' +
    'With an `Idempotency-Key`, a retry answers the first response again.',
  security,
  middleware: [jsonBody] as const,
  request: { params: OrderIdParam, headers: PlaceOrderHeaders, body: { ...json(ReturnBody), required: true } },
  responses: {
    201: {
      description: 'The return, REQUESTED.',
      headers: z.object({
        'Idempotent-Replayed': z.literal('true').optional().openapi({ description: 'Present on a replay.' }),
      }),
      ...json(ReturnSchema),
    },
    ...problemResponses(400, 401, 404, 409, 413, 415, 422, 429),
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/{id}/returns',
  operationId: 'listOrderReturns',
  tags: ['Returns'],
  summary: 'List an order’s returns, oldest first',
  description: 'Every return of the order, with its lines, its status and the refund of its lines once received.',
  security,
  request: { params: OrderIdParam },
  responses: { 200: { description: 'The order’s returns.', ...json(ReturnListSchema) }, ...problemResponses(400, 401, 404, 429) },
});

const cancelRoute = createRoute({
  method: 'post',
  path: '/{id}/returns/{returnId}/cancel',
  operationId: 'cancelReturn',
  tags: ['Returns'],
  summary: 'Cancel a return',
  description:
    'While the return is REQUESTED: it becomes CANCELLED and its units may be returned again. Cancelling a cancelled return ' +
    'answers it as it is; one whose goods came back, or that was rejected, is a 409.',
  security,
  request: { params: OrderIdParam.merge(ReturnIdParam) },
  responses: {
    200: { description: 'The return, now CANCELLED.', ...json(ReturnSchema) },
    ...problemResponses(400, 401, 404, 409, 429),
  },
});

export function returnsRoutes(deps: ReturnsDeps) {
  const app = createRouter();

  app.openapi(openRoute, async (c) => {
    const orderId = c.req.valid('param').id;
    const key = c.req.valid('header')['idempotency-key'];
    const body = c.req.valid('json');
    const scope = c.get('apiKeyId');
    const result = await openReturn(
      deps.db,
      orderId,
      { items: body.items, reason: body.reason, actor: `api-key:${scope ?? 'unknown'}` },
      deps.now(),
      { windowMs: deps.returnWindowDays * DAY_MS },
      key === undefined
        ? undefined
        : {
            key: scopedIdempotencyKey(scope, key),
            fingerprint: fingerprint({ returnOf: orderId, ...body }),
            ttlMs: deps.idempotencyTtlMs,
            render: (ret) => JSON.stringify(returnView(ret)),
          },
    );
    if (!result.replayed) {
      deps.onCommit();
      return c.json(returnView(result.ret), 201);
    }
    return c.json(JSON.parse(result.body) as ReturnView, result.statusCode as 201, { 'Idempotent-Replayed': 'true' });
  });

  app.openapi(listRoute, async (c) =>
    c.json({ returns: (await listReturns(deps.db, c.req.valid('param').id)).map(returnView) }, 200),
  );

  app.openapi(cancelRoute, async (c) => {
    const { id: orderId, returnId } = c.req.valid('param');
    const actor = `api-key:${c.get('apiKeyId') ?? 'unknown'}`;
    const { ret, outcome } = await endReturn(deps.db, returnId, 'ReturnCancelled', { actor, orderId }, deps.now());
    deps.onCommit();
    await recordOperatorAction(deps.db, {
      orderId,
      action: 'cancel-return',
      actor,
      outcome: outcome === 'done' ? `cancelled ${returnId}` : `already cancelled ${returnId}`,
      at: deps.now(),
    });
    return c.json(returnView(ret), 200);
  });

  return app;
}
