/**
 * The operator's side of returns, behind the admin token: the open returns of every order, and
 * the two steps only an operator takes, receiving the goods (the units go back on sale and their
 * amount is refunded, once however often it is asked) and rejecting a return. Each is recorded on
 * the order's timeline with its actor, as every operator action is.
 */
import { createRoute } from '@hono/zod-openapi';
import type { Db } from '../db/client.ts';
import { recordOperatorAction } from '../db/operator-actions.ts';
import { receiveReturn } from '../db/return-receipt.ts';
import { endReturn, listOpenReturns } from '../db/returns.ts';
import { returnView } from '../views.ts';
import { AdminReturnIdParam, OpenReturnsQuery, ReturnListSchema, ReturnSchema } from './money-back-schemas.ts';
import { problemResponses } from './problem.ts';
import { createRouter } from './router.ts';
import { ADMIN_SECURITY } from './security.ts';
import { json } from './schemas.ts';

export interface AdminReturnsDeps {
  db: Db;
  now: () => number;
  onCommit: () => void;
}

const ADMIN_ACTOR = 'admin';
const DEFAULT_OPEN_LIMIT = 100;
const security = ADMIN_SECURITY;

const openRoute = createRoute({
  method: 'get',
  path: '/returns',
  operationId: 'listOpenReturns',
  tags: ['Admin'],
  summary: 'List open returns, oldest first',
  description: 'Returns still REQUESTED (waiting for the goods) or RECEIVED (waiting for their refund), of every order.',
  security,
  request: { query: OpenReturnsQuery },
  responses: { 200: { description: 'The open returns.', ...json(ReturnListSchema) }, ...problemResponses(400, 401) },
});

const receiveRoute = createRoute({
  method: 'post',
  path: '/returns/{id}/receive',
  operationId: 'receiveReturn',
  tags: ['Admin'],
  summary: 'Receive a return’s goods',
  description:
    'The return becomes RECEIVED: its units move from shipped back to available (and count as returned), and its lines’ ' +
    'amount is refunded, at most what the capture still holds. Receiving a received return answers it as it is and moves ' +
    'nothing; a rejected or cancelled one is a 409.',
  security,
  request: { params: AdminReturnIdParam },
  responses: {
    200: { description: 'The return, now RECEIVED.', ...json(ReturnSchema) },
    ...problemResponses(400, 401, 404, 409),
  },
});

const rejectRoute = createRoute({
  method: 'post',
  path: '/returns/{id}/reject',
  operationId: 'rejectReturn',
  tags: ['Admin'],
  summary: 'Reject a return',
  description:
    'While it is REQUESTED: the return becomes REJECTED and its units may be returned again. Rejecting a rejected return ' +
    'answers it as it is; one whose goods came back, or that was cancelled, is a 409.',
  security,
  request: { params: AdminReturnIdParam },
  responses: {
    200: { description: 'The return, now REJECTED.', ...json(ReturnSchema) },
    ...problemResponses(400, 401, 404, 409),
  },
});

export function adminReturnsRoutes(deps: AdminReturnsDeps) {
  const app = createRouter();

  app.openapi(openRoute, async (c) => {
    const limit = c.req.valid('query').limit ?? DEFAULT_OPEN_LIMIT;
    return c.json({ returns: (await listOpenReturns(deps.db, limit)).map(returnView) }, 200);
  });

  app.openapi(receiveRoute, async (c) => {
    const { ret, outcome } = await receiveReturn(deps.db, c.req.valid('param').id, ADMIN_ACTOR, deps.now());
    deps.onCommit();
    await recordOperatorAction(deps.db, {
      orderId: ret.orderId,
      action: 'receive-return',
      actor: ADMIN_ACTOR,
      outcome: outcome === 'done' ? `received ${ret.id}` : `already received ${ret.id}`,
      at: deps.now(),
    });
    return c.json(returnView(ret), 200);
  });

  app.openapi(rejectRoute, async (c) => {
    const id = c.req.valid('param').id;
    const { ret, outcome } = await endReturn(deps.db, id, 'ReturnRejected', { actor: ADMIN_ACTOR }, deps.now());
    deps.onCommit();
    await recordOperatorAction(deps.db, {
      orderId: ret.orderId,
      action: 'reject-return',
      actor: ADMIN_ACTOR,
      outcome: outcome === 'done' ? `rejected ${ret.id}` : `already rejected ${ret.id}`,
      at: deps.now(),
    });
    return c.json(returnView(ret), 200);
  });

  return app;
}
