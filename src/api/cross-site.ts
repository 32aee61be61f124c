/**
 * Admin is safe from other sites. A browser holding the admin's Basic credentials sends them with
 * any request to this origin, including one that a page on another site makes it send (a form
 * post, a fetch with a text/plain body, which needs no CORS preflight). Every state-changing
 * request under /admin (product writes, Bull Board actions, console actions) is therefore refused
 * (403) when the browser says it comes from elsewhere:
 *
 * - `Sec-Fetch-Site: cross-site`, and `same-site` too: a sibling host (shop.example beside
 *   admin.shop.example) is another origin that may serve content we do not control. A browser
 *   sets this header itself and no page can forge it, so `same-origin` (or `none`, a request the
 *   user made by hand) settles the question: with `Referrer-Policy: no-referrer`, a browser sends
 *   `Origin: null` even for a form on our own page;
 * - without `Sec-Fetch-Site` (older browsers), an `Origin` that is not this request's own (scheme
 *   aside, compared by host and port with the Host header; behind a proxy, the proxy must pass
 *   Host through), `Origin: null` included.
 *
 * Safe methods (GET, HEAD, OPTIONS) change nothing and pass. A request with neither header
 * (curl, scripts, the CLI) passes: only a browser can be turned against its user this way, and
 * browsers send `Origin` with every state-changing request.
 *
 * Why not Hono's `hono/csrf` (4.13.19), which decides on the same two headers: it checks only the
 * content types a form can send (a console action or a Bull Board call with any other type would
 * pass on the strength of a CORS preflight alone); it refuses a form post with neither header,
 * which is a script's with a Bearer token; it compares `Origin` with the request URL's origin,
 * scheme included, so behind a proxy that ends TLS every browser without `Sec-Fetch-Site` would be
 * refused; and its refusal is a bare text 403, not a problem document naming `Origin`.
 */
import type { MiddlewareHandler } from 'hono';
import { CrossSiteRequestError } from './refusals.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Why a request comes from another site, or undefined when it does not (or does not say). */
export function crossSiteReason(headers: { origin?: string; secFetchSite?: string; host?: string }): string | undefined {
  const site = headers.secFetchSite?.trim().toLowerCase();
  if (site === 'cross-site' || site === 'same-site')
    return `the browser says it comes from another site (Sec-Fetch-Site: ${site})`;
  if (site === 'same-origin' || site === 'none') return undefined;
  if (headers.origin === undefined) return undefined;
  let originHost: string;
  try {
    originHost = new URL(headers.origin).host.toLowerCase();
  } catch {
    return 'its Origin is not this service (an opaque or malformed origin)';
  }
  if (!headers.host || originHost !== headers.host.trim().toLowerCase()) return 'its Origin is another site';
  return undefined;
}

/** Refuses a state-changing request that a browser sent from another site. */
export const refuseCrossSite: MiddlewareHandler = async (c, next) => {
  if (!SAFE_METHODS.has(c.req.method)) {
    const reason = crossSiteReason({
      origin: c.req.header('origin'),
      secFetchSite: c.req.header('sec-fetch-site'),
      host: c.req.header('host') ?? new URL(c.req.url).host,
    });
    if (reason) throw new CrossSiteRequestError(`A state-changing admin request is refused: ${reason}.`);
  }
  await next();
};
