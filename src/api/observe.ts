/**
 * What every request goes through on its way in and out: a logger carrying its request id, one
 * access-log line, its latency in the metrics, and headers that keep API answers from being
 * rendered as pages.
 */
import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Context } from 'hono';
import type { Logger } from 'pino';
import type { ServiceMetrics } from '../metrics.ts';
import { QUEUES_BOARD_STATIC_PATH } from './queues-board.ts';
import type { AppEnv } from './router.ts';

/** Polled by probes and scrapers every few seconds: logged at debug level only, and not traced. */
export const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export function observeRequests(logger: Logger, metrics?: ServiceMetrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const log = logger.child({ requestId: c.get('requestId') });
    c.set('logger', log);
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routeOf(c);
    metrics?.observeRequest(c.req.method, route, c.res.status, seconds);
    log[QUIET_PATHS.has(c.req.path) ? 'debug' : 'info'](
      { method: c.req.method, path: c.req.path, route, status: c.res.status, ms: Math.round(seconds * 1000) },
      'request',
    );
  };
}

/**
 * The route pattern that answered (`/orders/:id`), not the path, so that the metric keeps a
 * bounded set of labels; `unmatched` when no route had the path.
 */
export function routeOf(c: Context): string {
  const handlers = matchedRoutes(c).filter((r) => r.method !== 'ALL');
  return handlers.at(-1)?.path ?? 'unmatched';
}

/**
 * Anything but a page (JSON, problems, metrics) may load nothing and be framed by nobody. Bull
 * Board's scripts are the exception: one of them runs as a Web Worker, which lives under the
 * policy its own script came with, and must load the board's other chunks.
 */
export const restrictNonHtml: MiddlewareHandler = async (c, next) => {
  await next();
  const type = c.res.headers.get('content-type') ?? '';
  if (c.req.path.startsWith(QUEUES_BOARD_STATIC_PATH) && /javascript/.test(type)) {
    c.res.headers.set('Content-Security-Policy', "default-src 'none'; script-src 'self'");
  } else if (!type.startsWith('text/html')) {
    c.res.headers.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
  }
};
