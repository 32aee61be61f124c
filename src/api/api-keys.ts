/**
 * The client routes (/orders) need one of the API_KEYS as `Authorization: Bearer <key>`. Each
 * storefront gets its own key; any valid key may read any order (one shop, several storefronts),
 * but Idempotency-Keys and rate limits are kept per key. The admin token is not an API key, and
 * no API key opens /admin: the two realms are checked by separate code against separate secrets.
 */
import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { sameSecret } from './admin-auth.ts';
import type { ClientAddressOf } from './client-address.ts';
import type { Limits } from './rate-limits.ts';
import { TooManyRequestsError, UnauthorizedError } from './refusals.ts';
import type { AppEnv } from './router.ts';

const API_KEY_CHALLENGE = 'Bearer realm="orders"';

class ApiKeyError extends UnauthorizedError {
  override readonly name = 'ApiKeyError';
  constructor(detail: string) {
    super(detail, API_KEY_CHALLENGE);
  }
}

/**
 * A short, stable name for a key that does not reveal it: what idempotency records and rate-limit
 * counters are kept under, so that neither the database nor Redis ever holds a key.
 */
export function apiKeyId(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 16);
}

/** The key a Bearer Authorization header offers, or undefined. */
function bearerKey(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}

export interface ApiKeyOptions {
  keys: readonly string[];
  limits?: Limits;
  clientAddress: ClientAddressOf;
}

/**
 * Lets a request through only with a valid API key, and within its key's rate limit. A request
 * without a valid key counts against its client address's limit (so that guessing is slow), then
 * gets a 401; one that comes over a limit gets a 429 with Retry-After.
 */
export function requireApiKey(options: ApiKeyOptions): MiddlewareHandler<AppEnv> {
  const known = options.keys.map((key) => ({ key, id: apiKeyId(key) }));
  return async (c, next) => {
    const offered = bearerKey(c.req.header('authorization'));
    // Every key is compared, whatever matched, so the time taken says nothing about which.
    let match: (typeof known)[number] | undefined;
    if (offered !== undefined) for (const k of known) if (sameSecret(offered, k.key)) match = k;

    if (!match) {
      const wait = await options.limits?.address?.consume(options.clientAddress(c));
      if (wait !== undefined)
        throw new TooManyRequestsError('Too many requests without a valid API key from this address.', wait);
      throw new ApiKeyError(
        offered === undefined ? 'This route needs an API key: Authorization: Bearer <API key>.' : 'The API key is not valid.',
      );
    }
    const wait = await options.limits?.apiKey?.consume(match.id);
    if (wait !== undefined) throw new TooManyRequestsError('Too many requests with this API key.', wait);
    c.set('apiKeyId', match.id);
    await next();
  };
}
