/**
 * The Bull Board dashboard, read-only: every queue of the service with its jobs, their data and
 * each failed job's error, and no action at all. Retrying a job and dismissing it are operator
 * actions that go on the order's timeline with who did them, which the board cannot say: they
 * are on the console (/admin) and in the CLI (`orders requeue`). Nothing that writes is allowed
 * either (adding a job would put a message or a charge in front of a processor that trusts its
 * queue; emptying, obliterating, pausing, promoting or editing jobs would lose or bend work the
 * database counts on): the adapters' readOnlyMode hides every action, and the API refuses them.
 * Served under /admin, so the admin token and the cross-site guard cover it (server.ts); a
 * browser gets a Basic challenge. Its page loads nothing from another host (Bull Board's template
 * asks Google for fonts: the link is dropped, the system's fonts serve).
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { BeforeHook } from '@bull-board/api/typings/app';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type MiddlewareHandler } from 'hono';
import type { Queues } from '../queues/queues.ts';

export const QUEUES_BOARD_PATH = '/admin/queues';

/** Where the board's own scripts are served from (a Web Worker among them: see observe.ts). */
export const QUEUES_BOARD_STATIC_PATH = `${QUEUES_BOARD_PATH}/static/`;

/** Reads pass; every write is refused. */
const readOnly: BeforeHook = ({ method }) => {
  if (method.toLowerCase() === 'get') return { allow: true };
  return {
    allow: false,
    status: 403,
    message: 'This board is read-only: retry or dismiss a failed job from the console (/admin) or with `orders requeue`.',
  };
};

/** Bull Board's page, its fonts link to fonts.googleapis.com dropped, under a policy of its own. */
const BOARD_PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // The board sets styles inline and its loading screen carries a <style>.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "worker-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

const offlinePage: MiddlewareHandler = async (c, next) => {
  await next();
  if (!(c.res.headers.get('content-type') ?? '').startsWith('text/html')) return;
  const html = (await c.res.text()).replace(/<link [^>]*href="https:\/\/fonts\.(googleapis|gstatic)\.com[^>]*>\s*/g, '');
  const headers = new Headers(c.res.headers);
  headers.delete('content-length');
  headers.set('Content-Security-Policy', BOARD_PAGE_CSP);
  c.res = new Response(html, { status: c.res.status, headers });
};

export function queuesBoard(queues: Queues): Hono {
  const adapter = new HonoAdapter(serveStatic);
  adapter.setBasePath(QUEUES_BOARD_PATH);
  createBullBoard({
    queues: Object.values(queues).map((queue) => new BullMQAdapter(queue, { readOnlyMode: true, allowRetries: false })),
    serverAdapter: adapter,
    options: {
      uiConfig: { boardTitle: 'Order service queues', hideDocsLink: true },
      handlerHooks: { before: readOnly },
    },
  });
  const board = new Hono();
  board.use('*', offlinePage);
  board.route('/', adapter.registerPlugin());
  return board;
}
