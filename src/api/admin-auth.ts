/**
 * The operator's secret, ADMIN_TOKEN, guards everything under /admin. Scripts send it as
 * `Authorization: Bearer <token>`; a browser (the Bull Board dashboard) sends it as the password
 * of HTTP Basic auth, any user name, after a Basic challenge.
 *
 * Wrong credentials are counted per client address: past the limit, that address is refused
 * (429, Retry-After), even with the right token, until its window ends, so that guessing is slow.
 * A request with no credentials at all is not a guess (a browser asks first without them) and is
 * not counted.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { ClientAddressOf } from './client-address.ts';
import type { Limit } from './rate-limits.ts';
import { TooManyRequestsError, UnauthorizedError } from './refusals.ts';

const REALM = 'orders-admin';
const BEARER_CHALLENGE = `Bearer realm="${REALM}"`;
const BASIC_CHALLENGE = `Basic realm="${REALM}", charset="UTF-8"`;

/** Compares digests, so neither the secret's content nor its length leaks through timing. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

class AdminAuthError extends UnauthorizedError {
  override readonly name = 'AdminAuthError';
}

/** The secret an Authorization header offers, from a Bearer token or a Basic password. */
export function offeredSecret(header: string | undefined): string | undefined {
  const match = /^(Bearer|Basic)\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  if (match[1]!.toLowerCase() === 'bearer') return match[2];
  const decoded = Buffer.from(match[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/**
 * Lets a request through only with the admin token. Paths a browser opens (`isBrowserPath`) answer
 * a refusal with a Basic challenge, so that the browser asks for the credentials; others with a
 * Bearer one.
 */
export function requireAdmin(
  token: string,
  isBrowserPath: (path: string) => boolean = () => false,
  throttle?: { failures: Limit | undefined; clientAddress: ClientAddressOf },
): MiddlewareHandler {
  const tooMany = (wait: number) =>
    new TooManyRequestsError('Too many wrong admin credentials from this address; try again later.', wait);
  return async (c, next) => {
    const challenge = isBrowserPath(c.req.path) ? BASIC_CHALLENGE : BEARER_CHALLENGE;
    const secret = offeredSecret(c.req.header('authorization'));
    if (secret === undefined) {
      throw new AdminAuthError(
        'This route needs the admin token: Authorization: Bearer <ADMIN_TOKEN>, or Basic auth with it as the password.',
        challenge,
      );
    }
    const failures = throttle?.failures;
    const address = failures ? throttle.clientAddress(c) : '';
    const blocked = await failures?.overLimit(address);
    if (blocked !== undefined) throw tooMany(blocked);
    if (!sameSecret(secret, token)) {
      const wait = await failures?.consume(address);
      if (wait !== undefined) throw tooMany(wait);
      throw new AdminAuthError('The admin token is wrong.', challenge);
    }
    await next();
  };
}
