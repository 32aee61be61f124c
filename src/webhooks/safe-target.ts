/**
 * Where a webhook may go. By default only to `https://` URLs whose host is a public address:
 * loopback, private, link-local (the cloud metadata service at 169.254.169.254 among them),
 * unique-local, multicast and every other special range are refused, classified by ipaddr.js
 * rather than by ranges written here. The check runs on the URL when an endpoint is registered
 * and, on every connection, on the addresses DNS gives (`guardedLookup`, the agents' `lookup`),
 * so that a name that later points inside is refused too. WEBHOOK_ALLOW_PRIVATE_TARGETS=true
 * permits private targets and `http://`, for tests and local development.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** A target refused by the guard: permanent for this attempt, retried like any failure. */
export class RefusedTargetError extends Error {
  override readonly name = 'RefusedTargetError';
}

/** Why `address` may not be a webhook's target (its range's name), or undefined when it is public. */
export function forbiddenRange(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  // An IPv4 address written as IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it is.
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  return range === 'unicast' ? undefined : range;
}

/** The longest URL an endpoint may have. */
export const MAX_URL_LENGTH = 2048;

/** What is wrong with `url` as an endpoint's, or undefined (checked before any DNS). */
export function urlProblem(url: string, allowPrivate: boolean): string | undefined {
  if (url.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute URL';
  }
  if (parsed.protocol !== 'https:' && !(allowPrivate && parsed.protocol === 'http:')) {
    return allowPrivate
      ? 'must be an http:// or https:// URL'
      : 'must be an https:// URL (WEBHOOK_ALLOW_PRIVATE_TARGETS=true permits http://)';
  }
  if (parsed.username || parsed.password) return 'must not carry credentials';
  if (parsed.hash) return 'must not have a fragment';
  const host = hostOf(parsed);
  if (!allowPrivate && isIP(host)) {
    const range = forbiddenRange(host);
    if (range)
      return `points at a ${range} address, which webhooks may not reach (WEBHOOK_ALLOW_PRIVATE_TARGETS=true permits it)`;
  }
  return undefined;
}

/**
 * What is wrong with where `url`'s host resolves to now, or undefined (a name that does not
 * resolve yet is let through: each delivery checks again).
 */
export async function resolvedProblem(url: string, allowPrivate: boolean): Promise<string | undefined> {
  if (allowPrivate) return undefined;
  const host = hostOf(new URL(url));
  if (isIP(host)) return undefined;
  const addresses = await new Promise<LookupAddress[]>((resolve) =>
    dnsLookup(host, { all: true }, (err, found) => resolve(err ? [] : found)),
  );
  for (const { address } of addresses) {
    const range = forbiddenRange(address);
    if (range)
      return `resolves to ${address}, a ${range} address, which webhooks may not reach (WEBHOOK_ALLOW_PRIVATE_TARGETS=true permits it)`;
  }
  return undefined;
}

/** The host of a URL without the brackets of an IPv6 literal. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http(s) agents that refuses a name resolving to any forbidden address: every
 * connection resolves again through it, so the check cannot be passed by changing DNS after the
 * endpoint was registered.
 */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    for (const { address } of addresses) {
      const range = forbiddenRange(address);
      if (range) {
        return callback(new RefusedTargetError(`${hostname} resolves to ${address}, a ${range} address: refused`), []);
      }
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
    callback(null, first.address, first.family);
  });
}
