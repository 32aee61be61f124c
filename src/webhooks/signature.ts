/**
 * Signing as the Standard Webhooks specification says (standardwebhooks.com): the `webhook-id`,
 * `webhook-timestamp` (seconds) and `webhook-signature` headers, the signature an HMAC-SHA256 of
 * `id.timestamp.body` keyed by the base64-decoded part of a `whsec_` secret, sent as `v1,<base64>`.
 * While a rotated secret is still in its grace period both signatures go, space-separated, and a
 * receiver holding either verifies. The timestamp lets a receiver refuse a replay.
 */
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A new signing secret: 32 random bytes, as the specification recommends (24 to 64). */
export function newSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/** Whether `secret` is one of ours (`whsec_` and base64 of 24 to 64 bytes). */
export function isSecret(secret: string): boolean {
  if (!secret.startsWith(PREFIX)) return false;
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  return key.length >= 24 && key.length <= 64;
}

/** The `v1,<base64>` signature of one message with one secret. */
export function signature(secret: string, id: string, timestampS: number, body: string): string {
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampS}.${body}`).digest('base64')}`;
}

/** The three headers of a message, signed with every secret given (the current one first). */
export function signedHeaders(secrets: readonly string[], id: string, timestampS: number, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampS),
    'webhook-signature': secrets.map((s) => signature(s, id, timestampS, body)).join(' '),
  };
}
