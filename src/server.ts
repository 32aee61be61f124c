/**
 * Builds the HTTP app from its parts. No listen() here: main.ts serves it, tests call it directly.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';

import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { requireAdmin } from './api/admin-auth.ts';
import { adminOrdersRoutes } from './api/admin-orders.ts';
import { adminRoutes, type SandboxLedgers } from './api/admin.ts';
import { adminWebhookRoutes } from './api/admin-webhooks.ts';
import { adminReturnsRoutes } from './api/admin-returns.ts';
import { refundRoutes } from './api/refunds.ts';
import { returnsRoutes } from './api/returns.ts';
import { requireApiKey } from './api/api-keys.ts';
import { MAX_BODY_BYTES } from './api/body.ts';
import { PayloadTooLargeError } from './api/refusals.ts';
import { clientAddressOf } from './api/client-address.ts';
import { refuseCrossSite } from './api/cross-site.ts';
import { healthRoutes } from './api/health.ts';
import type { RelayHealth } from './relay.ts';
import { refuseUnsafeRequestText } from './api/hygiene.ts';
import { indexRoutes } from './api/index-page.ts';
import { notFound, refuseOtherMethods } from './api/not-found.ts';
import { observeRequests, restrictNonHtml } from './api/observe.ts';
import { ordersRoutes } from './api/orders.ts';
import { OPENAPI_PATH, serveOpenApi } from './api/openapi.ts';
import { errorHandler } from './api/problem.ts';
import { QUEUES_BOARD_PATH, queuesBoard } from './api/queues-board.ts';
import type { Limits } from './api/rate-limits.ts';
import { apiReference } from './api/reference.ts';
import { createRouter, type AppEnv } from './api/router.ts';
import { traceRequests } from './api/trace.ts';
import { webhookRoutes } from './api/webhooks.ts';
import { isConsolePath, PUBLIC_STYLESHEET } from './console/paths.ts';
import { consoleRoutes } from './console/routes.tsx';
import { consoleWebhookRoutes } from './console/webhook-routes.tsx';
import type { Db } from './db/client.ts';
import type { ServiceMetrics } from './metrics.ts';
import type { Queues } from './queues/queues.ts';
import { tracingEnabled } from './telemetry/tracing.ts';

export interface AppDeps {
  db: Db;
  logger: Logger;
  adminToken: string;
  webhookSecret: string;
  /** How far a carrier delivery's signed timestamp may be from now (s); default 300. */
  webhookToleranceS?: number;
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
  /** How many days after delivery a return may be opened (RETURN_WINDOW_DAYS; default 30). */
  returnWindowDays?: number;
  /** The simulated providers' records, served under /admin/sandbox; none: no such routes. */
  ledgers?: SandboxLedgers;
  /** Checked by /readyz. */
  redis?: Redis;
  /** The workers' connection, where workers run: checked by /readyz too. */
  workerRedis?: Redis;
  /** This process's outbox relay and the outbox's bound, checked by /readyz. */
  relay?: { health(): RelayHealth };
  outboxLagLimitMs?: number;
  /** The deployment's clock as this process reads it, shown by /readyz. */
  clock?: { offsetMs: number; skewed: boolean };
  /** Shown on the Bull Board dashboard. */
  queues?: Queues;
  /** Served at /metrics, and told each request's latency. */
  metrics?: ServiceMetrics;
  /** True while another database claims this queue prefix (reported by /readyz). */
  prefixConflict?: () => boolean;
  /** An order not at rest that has not moved for this long is stuck (STUCK_AFTER_MS); default 60 s. */
  stuckAfterMs?: number;
  /** Outbound webhooks: where endpoints may point, and how long a rotated secret keeps signing. */
  webhooks?: { allowPrivateTargets: boolean; secretGraceMs: number };
  now?: () => number;
}

export interface OpsAppDeps {
  db: Db;
  logger: Logger;
  redis?: Redis;
  workerRedis?: Redis;
  relay?: { health(): RelayHealth };
  outboxLagLimitMs?: number;
  /** The deployment's clock as this process reads it, shown by /readyz. */
  clock?: { offsetMs: number; skewed: boolean };
  metrics?: ServiceMetrics;
  prefixConflict?: () => boolean;
}

/**
 * What a worker-only process serves (on METRICS_PORT): /healthz, /readyz and /metrics, so that
 * the job series of every worker process can be scraped.
 */
export function createOpsApp(deps: OpsAppDeps): OpenAPIHono<AppEnv> {
  const app = createRouter();
  app.use('*', requestId());
  app.use('*', secureHeaders(), restrictNonHtml);
  app.use('*', refuseOtherMethods(app));
  app.route('/', healthRoutes(deps));
  app.notFound(notFound);
  app.onError(errorHandler(deps.logger));
  return app;
}

export { OPENAPI_PATH };
export const DEFAULT_MAX_ORDER_TOTAL_CENTS = 10_000_000;
export const DEFAULT_RETURN_WINDOW_DAYS = 30;
export const DOCS_PATH = '/docs';
/** The operations console. */
export const ADMIN_PATH = '/admin';

export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const now = deps.now ?? Date.now;
  const app = createRouter();

  // Outermost, so that everything the request does (its access log line too) is in its span.
  if (tracingEnabled()) app.use('*', traceRequests());
  app.use('*', requestId());
  app.use('*', observeRequests(deps.logger, deps.metrics));
  app.use('*', secureHeaders(), restrictNonHtml);
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new PayloadTooLargeError(MAX_BODY_BYTES);
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
  // What a browser opens asks for Basic credentials; scripts are told to send a Bearer token.
  app.use(
    '/admin/*',
    requireAdmin(deps.adminToken, (path) => path.startsWith(QUEUES_BOARD_PATH) || isConsolePath(path), {
      failures: deps.limits?.adminFailures,
      clientAddress,
    }),
  );
  app.use('*', refuseUnsafeRequestText);
  // Last of the middleware: what is outside it sees the 405 it makes of a 404.
  app.use('*', refuseOtherMethods(app));

  app.route('/', healthRoutes(deps));
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
  const moneyBack = { db: deps.db, now, idempotencyTtlMs: deps.idempotencyTtlMs, onCommit: deps.onCommit };
  app.route('/orders', refundRoutes(moneyBack, 'client'));
  app.route('/orders', returnsRoutes({ ...moneyBack, returnWindowDays: deps.returnWindowDays ?? DEFAULT_RETURN_WINDOW_DAYS }));
  app.route('/admin', refundRoutes(moneyBack, 'admin'));
  app.route('/admin', adminReturnsRoutes({ db: deps.db, now, onCommit: deps.onCommit }));
  app.route(
    '/webhooks',
    webhookRoutes({
      db: deps.db,
      webhookSecret: deps.webhookSecret,
      ...(deps.webhookToleranceS !== undefined ? { toleranceS: deps.webhookToleranceS } : {}),
      now,
      onCommit: deps.onCommit,
    }),
  );
  app.route('/admin', adminRoutes({ db: deps.db, now, ledgers: deps.ledgers }));
  const stuckAfterMs = deps.stuckAfterMs ?? 60_000;
  app.route('/admin', adminOrdersRoutes({ db: deps.db, now, stuckAfterMs }));
  app.route(
    '/admin',
    adminWebhookRoutes({
      db: deps.db,
      now,
      onCommit: deps.onCommit,
      allowPrivateTargets: deps.webhooks?.allowPrivateTargets ?? false,
      secretGraceMs: deps.webhooks?.secretGraceMs ?? 24 * 60 * 60 * 1000,
    }),
  );
  app.route('/', consoleRoutes({ db: deps.db, queues: deps.queues, now, stuckAfterMs, onCommit: deps.onCommit }));
  app.route('/', consoleWebhookRoutes({ db: deps.db, now, stuckAfterMs, onCommit: deps.onCommit }));
  if (deps.queues) app.route(QUEUES_BOARD_PATH, queuesBoard(deps.queues));

  serveOpenApi(app, { queuesBoardPath: QUEUES_BOARD_PATH, docsPath: DOCS_PATH });
  app.route(DOCS_PATH, apiReference(DOCS_PATH, { specUrl: OPENAPI_PATH, title: 'Order service API' }));
  app.route(
    '/',
    indexRoutes({
      title: 'Order service',
      paths: { docs: DOCS_PATH, openapi: OPENAPI_PATH, admin: ADMIN_PATH, stylesheet: PUBLIC_STYLESHEET },
    }),
  );

  app.notFound(notFound);
  app.onError(errorHandler(deps.logger));
  return app;
}
