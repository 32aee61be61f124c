/**
 * The Bull Board dashboard: every queue of the service, with its jobs, retry and clean actions.
 * Served under /admin, so the admin token guards it (server.ts); a browser gets a Basic challenge.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';
import type { Queues } from '../queues/queues.ts';

export const QUEUES_BOARD_PATH = '/admin/queues';

export function queuesBoard(queues: Queues): Hono {
  const adapter = new HonoAdapter(serveStatic);
  adapter.setBasePath(QUEUES_BOARD_PATH);
  createBullBoard({
    queues: Object.values(queues).map((queue) => new BullMQAdapter(queue, { allowRetries: true })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'Order service queues' } },
  });
  return adapter.registerPlugin();
}
