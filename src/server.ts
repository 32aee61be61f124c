/**
 * Builds the HTTP app from its parts. No listen() here: main.ts serves it, tests call it directly.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { Scalar } from '@scalar/hono-api-reference';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { requireAdmin } from './api/admin-auth.ts';
import { adminRoutes } from './api/admin.ts';
import { requireApiKey } from './api/api-keys.ts';
import { MAX_BODY_BYTES, PayloadTooLargeError } from './api/body.ts';
import { clientAddressOf } from './api/client-address.ts';
import { refuseCrossSite } from './api/cross-site.ts';
import { healthRoutes } from './api/health.ts';
import { refuseUnsafeRequestText } from './api/hygiene.ts';
import { observeRequests, restrictNonHtml } from './api/observe.ts';
import { ordersRoutes } from './api/orders.ts';
import { errorHandler, problemResponse } from './api/problem.ts';
import { QUEUES_BOARD_PATH, queuesBoard } from './api/queues-board.ts';
import type { Limits } from './api/rate-limits.ts';
import { createRouter, type AppEnv } from './api/router.ts';
import { webhookRoutes } from './api/webhooks.ts';
import type { Db } from './db/client.ts';
import type { ServiceMetrics } from './metrics.ts';
import type { Queues } from './queues/queues.ts';

export interface AppDeps {
  db: Db;
  logger: Logger;
  adminToken: string;
  webhookSecret: string;
  idempotencyTtlMs: number;
  /** Kicks the outbox relay after a commit; a no-op where no relay runs in this process. */
  onCommit: () => void;
  /** The keys of the client routes; none (the default) refuses every client request. */
  apiKeys?: readonly string[];
  /** Abuse limits (api/rate-limits.ts); none: no limits. */
  limits?: Limits;
  /** Read the client's address from X-Forwarded-For (TRUST_PROXY). */
  trustProxy?: boolean;
  /** Origins whose browsers may call the client routes; none: no CORS. */
  corsOrigins?: readonly string[];
  maxOrderTotalCents?: number;
  /** Checked by /readyz. */
  redis?: Redis;
  /** Shown on the Bull Board dashboard. */
  queues?: Queues;
  /** Served at /metrics, and told each request's latency. */
  metrics?: ServiceMetrics;
  now?: () => number;
}

export interface OpsAppDeps {
  db: Db;
  logger: Logger;
  redis?: Redis;
  metrics?: ServiceMetrics;
}

/**
 * What a worker-only process serves (on METRICS_PORT): /healthz, /readyz and /metrics, so that
 * the job series of every worker process can be scraped.
 */
export function createOpsApp(deps: OpsAppDeps): OpenAPIHono<AppEnv> {
  const app = createRouter();
  app.use('*', requestId());
  app.use('*', secureHeaders(), restrictNonHtml);
  app.route('/', healthRoutes({ db: deps.db, redis: deps.redis, metrics: deps.metrics }));
  app.notFound((c) => problemResponse(c, 404, `No route for ${c.req.method} ${c.req.path}.`));
  app.onError(errorHandler(deps.logger));
  return app;
}

export const OPENAPI_PATH = '/openapi.json';
export const DEFAULT_MAX_ORDER_TOTAL_CENTS = 10_000_000;
export const DOCS_PATH = '/docs';

export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const now = deps.now ?? Date.now;
  const app = createRouter();

  app.use('*', requestId());
  app.use('*', observeRequests(deps.logger, deps.metrics));
  app.use('*', secureHeaders(), restrictNonHtml);
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new PayloadTooLargeError();
      },
    }),
  );
  const clientAddress = clientAddressOf(deps.trustProxy ?? false);
  if (deps.corsOrigins && deps.corsOrigins.length > 0) {
    // Before the key check: a browser's preflight carries no credentials.
    app.use(
      '/orders/*',
      cors({
        origin: [...deps.corsOrigins],
        allowMethods: ['GET', 'POST'],
        allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'],
        exposeHeaders: ['Location', 'Idempotent-Replayed', 'X-Request-Id', 'Retry-After'],
        maxAge: 600,
      }),
    );
  }
  app.use('/orders/*', requireApiKey({ keys: deps.apiKeys ?? [], limits: deps.limits, clientAddress }));
  // Every state-changing admin request, whatever mounts it under /admin, passes the cross-site guard.
  app.use('/admin/*', refuseCrossSite);
  app.use('/admin/*', requireAdmin(deps.adminToken, QUEUES_BOARD_PATH, { failures: deps.limits?.adminFailures, clientAddress }));
  app.use('*', refuseUnsafeRequestText);

  app.route('/', healthRoutes({ db: deps.db, redis: deps.redis, metrics: deps.metrics }));
  app.route(
    '/orders',
    ordersRoutes({
      db: deps.db,
      now,
      idempotencyTtlMs: deps.idempotencyTtlMs,
      onCommit: deps.onCommit,
      rules: { maxTotalCents: deps.maxOrderTotalCents ?? DEFAULT_MAX_ORDER_TOTAL_CENTS },
    }),
  );
  app.route('/webhooks', webhookRoutes({ db: deps.db, webhookSecret: deps.webhookSecret, now, onCommit: deps.onCommit }));
  app.route('/admin', adminRoutes({ db: deps.db, now }));
  if (deps.queues) app.route(QUEUES_BOARD_PATH, queuesBoard(deps.queues));

  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: {
      title: 'Order service',
      version: '1',
      description:
        'Takes e-commerce orders and carries each one through payment, inventory, shipping and notification. ' +
        'Every refusal is an RFC 9457 `application/problem+json` document naming the offending fields. ' +
        'The client routes (`/orders`) need an API key as a bearer token; admin routes need the admin token, and ' +
        'refuse state-changing requests sent by a browser from another site. ' +
        `The queues dashboard (Bull Board) is at \`${QUEUES_BOARD_PATH}\`, behind the admin token.`,
    },
    tags: [
      { name: 'Orders', description: 'Placing, reading and cancelling orders.' },
      { name: 'Webhooks', description: 'Signed calls from the outside world.' },
      { name: 'Admin', description: 'The catalog, behind ADMIN_TOKEN.' },
      { name: 'Sandbox', description: 'The simulated outside world’s own records, behind ADMIN_TOKEN.' },
      { name: 'Operations', description: 'Health, readiness and metrics.' },
    ],
  });
  app.get(DOCS_PATH, Scalar({ url: OPENAPI_PATH, pageTitle: 'Order service API' }));

  app.notFound((c) => problemResponse(c, 404, `No route for ${c.req.method} ${c.req.path}.`));
  app.onError(errorHandler(deps.logger));
  return app;
}
