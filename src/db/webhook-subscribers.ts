/**
 * Which endpoints hear which event types, as an order's transaction needs to know it: kept per
 * opened database for a short while (WEBHOOK_ENDPOINT_CACHE_MS, 1 s by default), so that the hot
 * path of a transition reads the endpoints table at most once per that while and, when no endpoint
 * subscribes to what the change causes, writes nothing more than it did before webhooks.
 *
 * The list only decides whether to write and to whom: the write itself keeps only endpoints still
 * enabled when it commits (webhook-writes.ts), so a stale list never sends to a deleted or
 * disabled endpoint. A change of the endpoints in this process is seen at once (`forgetSubscribers`);
 * in another process, within the cache's time.
 */
import { eq } from 'drizzle-orm';
import type { Connection, Db, Tx } from './client.ts';

export interface Subscriber {
  id: string;
  events: ReadonlySet<string>;
}

interface Cached {
  until: number;
  subscribers: readonly Subscriber[];
}

const DEFAULT_TTL_MS = 1_000;
const cached = new WeakMap<Connection, Cached>();
const ttls = new WeakMap<Connection, number>();

/** How long this database's list of subscribers is kept (WEBHOOK_ENDPOINT_CACHE_MS). */
export function setSubscriberCacheMs(db: Db, ttlMs: number): void {
  ttls.set(db.connection, ttlMs);
}

/** Drops the kept list: the endpoints changed (admin API, CLI). */
export function forgetSubscribers(db: Db | Tx): void {
  cached.delete(db.connection);
}

/** The enabled endpoints and what each subscribes to, read through `handle` when the kept list is old. */
export async function subscribers(handle: Db | Tx): Promise<readonly Subscriber[]> {
  const clock = performance.now();
  const kept = cached.get(handle.connection);
  if (kept && kept.until > clock) return kept.subscribers;
  const t = handle.tables.webhookEndpoints;
  const rows = await handle.select({ id: t.id, events: t.events }).from(t).where(eq(t.enabled, true));
  const list = rows.map((r) => ({ id: r.id, events: new Set(r.events) }));
  const ttl = ttls.get(handle.connection) ?? DEFAULT_TTL_MS;
  if (ttl > 0) cached.set(handle.connection, { until: clock + ttl, subscribers: list });
  return list;
}
