/**
 * The server span of each request, where traces are exported: named `METHOD /route` with the HTTP
 * semantic-convention attributes, continuing the caller's trace when the request carries a W3C
 * `traceparent` header, and active while the request is handled, so that the outbox rows a request
 * writes (and the jobs that follow from them) belong to its trace. Probe and scrape paths are not
 * traced.
 */
import { ROOT_CONTEXT, SpanStatusCode, propagation, type TextMapGetter } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import { SpanKind, inSpan } from '../telemetry/tracing.ts';
import { QUIET_PATHS, routeOf } from './observe.ts';
import type { AppEnv } from './router.ts';

const fromHeaders: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

export function traceRequests(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (QUIET_PATHS.has(c.req.path)) return next();
    const method = c.req.method;
    const url = new URL(c.req.url);
    const attributes = {
      'http.request.method': method,
      'url.path': c.req.path,
      'url.scheme': url.protocol.replace(/:$/, ''),
      'server.address': url.hostname,
      ...(url.port ? { 'server.port': Number(url.port) } : {}),
      ...(c.req.header('user-agent') ? { 'user_agent.original': c.req.header('user-agent') } : {}),
    };
    const parent = propagation.extract(ROOT_CONTEXT, c.req.raw.headers, fromHeaders);
    await inSpan(method, { kind: SpanKind.SERVER, parent, attributes }, async (span) => {
      await next();
      const route = routeOf(c);
      if (route !== 'unmatched') {
        span.updateName(`${method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', c.res.status);
      // For a server, a 4xx is the client's mistake; only a 5xx is the span's failure.
      if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    });
  };
}
