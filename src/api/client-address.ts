/**
 * Who is asking, for the limits kept per client address: the address of the TCP peer, as the
 * socket reports it. X-Forwarded-For is anyone's to write, so it is read only when TRUST_PROXY
 * says a proxy stands in front; then its last entry, the one that proxy appended, is the client.
 * Loopback is an address like any other.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

export type ClientAddressOf = (c: Context) => string;

export function clientAddressOf(trustProxy: boolean): ClientAddressOf {
  return (c) => {
    if (trustProxy) {
      const forwarded = (c.req.header('x-forwarded-for') ?? '')
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean)
        .at(-1);
      if (forwarded) return forwarded.slice(0, 64);
    }
    try {
      return getConnInfo(c).remote.address ?? 'unknown';
    } catch {
      // Not served by @hono/node-server (a test calling app.request): no socket to ask.
      return 'unknown';
    }
  };
}
