/**
 * The Bull Board dashboard: every queue of the service, with its jobs, and the two actions
 * operators need: retry (a failed job, or all of them) and clean (remove finished jobs). Nothing
 * else that writes is allowed: adding a job would put a message or a charge in front of a
 * processor that trusts its queue; emptying, obliterating, pausing, promoting (a payment deadline
 * run early fails a payment), or editing jobs would lose or bend work the database counts on.
 * Served under /admin, so the admin token and the cross-site guard cover it (server.ts); a
 * browser gets a Basic challenge.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { BeforeHook } from '@bull-board/api/typings/app';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';
import type { Queues } from '../queues/queues.ts';

export const QUEUES_BOARD_PATH = '/admin/queues';

/** The board's write routes that stay open, as Bull Board names them. */
const BOARD_ACTIONS_ALLOWED = new Set([
  'put /api/queues/:queueName/retry/:queueStatus',
  'put /api/queues/:queueName/:jobId/retry',
  'put /api/queues/:queueName/clean/:queueStatus',
  'put /api/queues/:queueName/:jobId/clean',
]);

/** Reads pass; of the writes, only retry and clean. */
const onlyRetryAndClean: BeforeHook = ({ method, route }) => {
  if (method.toLowerCase() === 'get' || BOARD_ACTIONS_ALLOWED.has(`${method.toLowerCase()} ${route}`)) return { allow: true };
  return { allow: false, status: 403, message: 'Only retry and clean are allowed on this board.' };
};

export function queuesBoard(queues: Queues): Hono {
  const adapter = new HonoAdapter(serveStatic);
  adapter.setBasePath(QUEUES_BOARD_PATH);
  createBullBoard({
    queues: Object.values(queues).map((queue) => new BullMQAdapter(queue, { allowRetries: true })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'Order service queues' }, handlerHooks: { before: onlyRetryAndClean } },
  });
  return adapter.registerPlugin();
}
