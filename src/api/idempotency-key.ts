/**
 * Idempotency-Keys as the routes that take one keep them: scoped to the API key (or the admin
 * token) they came with, beside a fingerprint of the request they answered.
 */
import { createHash } from 'node:crypto';

/** Stored under the admin token's requests, which carry no API key. */
export const ADMIN_SCOPE = 'admin';

/**
 * An Idempotency-Key as stored: prefixed with the id of the API key it came with (never the key
 * itself), so that two storefronts that happen to pick the same key do not see each other's orders.
 */
export function scopedIdempotencyKey(apiKeyId: string | undefined, key: string): string {
  return `${apiKeyId ?? '-'}:${key}`;
}

/** The same request, whatever its key order or spacing, gives the same fingerprint. */
export function fingerprint(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
