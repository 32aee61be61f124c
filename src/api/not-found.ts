/**
 * The answers for a request no route took, both problem documents: 404 when the path is not known
 * at all, and, from Hono's own `hono/method-not-allowed`, 405 with `Allow` when it is known under
 * other methods. Ours only shapes the 405 (a problem document, `Allow` sorted so that it reads the
 * same whatever order the routes were added in); finding the methods is Hono's, GET bringing HEAD.
 */
import type { Context, Env, Hono } from 'hono';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { problemResponse } from './problem.ts';

/** The notFound handler: nothing answers this path under any method (else the middleware below says 405). */
export function notFound(c: Context): Response {
  return problemResponse(c, 'not-found', `No route for ${c.req.method} ${c.req.path}.`);
}

/**
 * Turns the 404 of a path known under other methods into a 405. Added last of `app`'s middleware,
 * just before the routes, so that the middleware outside it (access log, metrics, security
 * headers) sees and marks the 405 it answers.
 */
export function refuseOtherMethods<E extends Env>(app: Hono<E>) {
  return methodNotAllowed<E>({
    app,
    onMethodNotAllowed: (c, methods) => {
      const allowed = [...methods].sort();
      return problemResponse(
        c,
        'method-not-allowed',
        `${c.req.path} does not answer ${c.req.method}; it answers ${allowed.join(', ')}.`,
        { headers: { Allow: allowed.join(', ') } },
      );
    },
  });
}
