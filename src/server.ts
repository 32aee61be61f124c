/**
 * Builds the HTTP app from its parts. No listen() here: main.ts serves it, tests call it directly.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { adminRoutes } from './api/admin.ts';
import { MAX_BODY_BYTES, PayloadTooLargeError } from './api/body.ts';
import { healthRoutes } from './api/health.ts';
import { ordersRoutes } from './api/orders.ts';
import { errorHandler, problem, problemResponse } from './api/problem.ts';
import { webhookRoutes } from './api/webhooks.ts';
import type { Db } from './db/client.ts';

export interface AppDeps {
  db: Db;
  logger: Logger;
  adminToken: string;
  webhookSecret: string;
  idempotencyTtlMs: number;
  /** Kicks the outbox relay after a commit; a no-op where no relay runs in this process. */
  onCommit: () => void;
  /** Checked by /readyz. */
  redis?: Redis;
  now?: () => number;
}

export function createApp(deps: AppDeps): Hono {
  const now = deps.now ?? Date.now;
  const app = new Hono();

  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new PayloadTooLargeError();
      },
    }),
  );

  app.route('/', healthRoutes({ db: deps.db, redis: deps.redis }));
  app.route('/orders', ordersRoutes({ db: deps.db, now, idempotencyTtlMs: deps.idempotencyTtlMs, onCommit: deps.onCommit }));
  app.route('/webhooks', webhookRoutes({ db: deps.db, webhookSecret: deps.webhookSecret, now, onCommit: deps.onCommit }));
  app.route('/admin', adminRoutes({ db: deps.db, adminToken: deps.adminToken, now }));

  app.notFound((c) => problemResponse(c, problem(404, `No route for ${c.req.method} ${c.req.path}.`, c.req.path)));
  app.onError(errorHandler(deps.logger));
  return app;
}
