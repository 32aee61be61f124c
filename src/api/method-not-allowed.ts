/**
 * The answer for a request no route took: 405 with `Allow` when the path is known under other
 * methods, 404 when it is not known at all. Both are problem documents.
 */
import type { Context } from 'hono';
import { TrieRouter } from 'hono/router/trie-router';
import { problemResponse } from './problem.ts';

interface RouteEntry {
  method: string;
  path: string;
}

/** Every method some route answers on `path`; GET brings HEAD, which Hono answers with it. */
function allowedMethods(router: TrieRouter<string>, path: string): string[] {
  const methods = new Set(router.match('ALL', path)[0].map(([method]) => method));
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

function routeTable(routes: readonly RouteEntry[]): TrieRouter<string> {
  const router = new TrieRouter<string>();
  // Middleware is registered for ALL methods; only real routes say what a path answers.
  for (const route of routes) if (route.method !== 'ALL') router.add('ALL', route.path, route.method.toUpperCase());
  return router;
}

/** A notFound handler for `app`, reading its routes on first use (once every route is added). */
export function notFoundOrNotAllowed(app: { routes: readonly RouteEntry[] }) {
  let router: TrieRouter<string> | undefined;
  return (c: Context): Response => {
    router ??= routeTable(app.routes);
    const allowed = allowedMethods(router, c.req.path);
    if (allowed.length === 0 || allowed.includes(c.req.method)) {
      return problemResponse(c, 'not-found', `No route for ${c.req.method} ${c.req.path}.`);
    }
    return problemResponse(
      c,
      'method-not-allowed',
      `${c.req.path} does not answer ${c.req.method}; it answers ${allowed.join(', ')}.`,
      {
        headers: { Allow: allowed.join(', ') },
      },
    );
  };
}
