/**
 * Webhook deliveries: one per (event, endpoint), written with the order's change
 * (webhook-writes.ts), then tried until the endpoint answers 2xx or the retries run out. Here are
 * what a delivery attempt reads and records, what the fan-out and the re-drive look for, the
 * manual resends (each writes a `WebhooksDue` outbox row in its own transaction, so the relay
 * hands the delivery on as it does for a change), and what the API, console and metrics show.
 */
import { and, asc, desc, eq, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import { NotFoundError } from '../domain/errors.ts';
import { quote } from '../domain/text.ts';
import { writeTx, type Db } from './client.ts';
import { rowsChanged } from './dialect.ts';
import { emit } from './outbox.ts';
import type { AttemptOutcomeName, DeliveryStatus, OrderSnapshot } from './tables/webhooks/values.ts';
import type { EndpointRow } from './webhook-endpoints.ts';
import { forgetSubscribers } from './webhook-subscribers.ts';

export type { DeliveryStatus } from './tables/webhooks/values.ts';

/** A delivery as it is due: its id, its endpoint and when its next attempt is. */
export interface DueDelivery {
  id: string;
  endpointId: string;
  nextAttemptAt: number;
}

/** The order's deliveries still owed (the fan-out of a `WebhooksDue` job). */
export async function pendingDeliveriesOf(db: Db, orderId: string): Promise<DueDelivery[]> {
  const d = db.tables.webhookDeliveries;
  return db
    .select({ id: d.id, endpointId: d.endpointId, nextAttemptAt: d.nextAttemptAt })
    .from(d)
    .where(and(eq(d.orderId, orderId), eq(d.status, 'PENDING')));
}

/** Deliveries whose attempt was due before `before` and has not happened: their job was lost. */
export async function overdueDeliveries(db: Db, before: number, limit: number): Promise<DueDelivery[]> {
  const d = db.tables.webhookDeliveries;
  return db
    .select({ id: d.id, endpointId: d.endpointId, nextAttemptAt: d.nextAttemptAt })
    .from(d)
    .where(and(eq(d.status, 'PENDING'), lt(d.nextAttemptAt, before)))
    .orderBy(asc(d.nextAttemptAt))
    .limit(limit);
}

export interface DeliveryRow {
  id: string;
  eventId: string;
  endpointId: string;
  orderId: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  windowStart: number;
  lastAttemptAt: number | null;
  lastStatusCode: number | null;
  lastError: string | null;
  deliveredAt: number | null;
  createdAt: number;
}

/** One attempt in a delivery's history. */
export interface AttemptRow {
  deliveryId: string;
  number: number;
  attemptedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  outcome: AttemptOutcomeName;
}

/** What one attempt needs: the delivery, its event and its endpoint (gone if deleted since). */
export interface Attempt {
  delivery: DeliveryRow;
  event: { id: string; type: string; orderVersion: number; occurredAt: number; snapshot: OrderSnapshot };
  endpoint: EndpointRow | undefined;
}

export async function loadAttempt(db: Db, deliveryId: string): Promise<Attempt | undefined> {
  const { webhookDeliveries: d, webhookEvents: e, webhookEndpoints: w } = db.tables;
  const [row] = await db
    .select({ delivery: d, event: e, endpoint: w })
    .from(d)
    .innerJoin(e, eq(e.id, d.eventId))
    .leftJoin(w, eq(w.id, d.endpointId))
    .where(eq(d.id, deliveryId));
  if (!row) return undefined;
  const { id, type, orderVersion, occurredAt, snapshot } = row.event;
  return { delivery: row.delivery, event: { id, type, orderVersion, occurredAt, snapshot }, endpoint: row.endpoint ?? undefined };
}

/** How an attempt ended, as it is recorded. */
export type AttemptRecord =
  | { kind: 'delivered'; statusCode: number }
  | { kind: 'retry'; retryAt: number; statusCode: number | null; error: string }
  | { kind: 'given-up'; statusCode: number | null; error: string }
  /** 410 Gone: the receiver asks for no more; the endpoint is disabled at once. */
  | { kind: 'gone'; statusCode: number; error: string };

/** An attempt to record: its number (the delivery's attempts so far, plus one), how long it took, what came of it. */
export interface RecordedAttempt {
  deliveryId: string;
  endpointId: string;
  number: number;
  durationMs: number;
  record: AttemptRecord;
  disableAfterMs: number;
}

/**
 * Records attempt number `number` of a delivery still pending, in its history and on the
 * delivery's row: a second run of the same attempt (a duplicate job, a worker killed after the
 * POST) finds the delivery settled or its count moved on and records nothing. Also what the
 * attempt says of the endpoint: a success ends its failing streak, a failure starts one or, past
 * `disableAfterMs`, disables it; a 410 disables it at once. Answers whether the endpoint was
 * disabled by this attempt.
 */
export async function recordAttempt(
  db: Db,
  attempt: RecordedAttempt,
  now: number,
): Promise<{ recorded: boolean; disabled?: string }> {
  const { record } = attempt;
  const error = record.kind === 'delivered' ? null : record.error.slice(0, 500);
  const result = await writeTx(db, async (tx): Promise<{ recorded: boolean; disabled?: string }> => {
    const { webhookDeliveries: d, webhookEndpoints: w, webhookAttempts: a } = tx.tables;
    const common = {
      attempts: attempt.number,
      lastAttemptAt: now,
      lastStatusCode: record.statusCode,
      lastError: error,
    };
    const set =
      record.kind === 'delivered'
        ? { ...common, status: 'DELIVERED' as const, deliveredAt: now }
        : record.kind === 'retry'
          ? { ...common, nextAttemptAt: record.retryAt }
          : { ...common, status: 'GIVEN_UP' as const };
    const changed = rowsChanged(
      await tx
        .update(d)
        .set(set)
        .where(and(eq(d.id, attempt.deliveryId), eq(d.status, 'PENDING'), eq(d.attempts, attempt.number - 1))),
    );
    if (changed === 0) return { recorded: false };
    await tx.insert(a).values({
      deliveryId: attempt.deliveryId,
      number: attempt.number,
      attemptedAt: now,
      durationMs: attempt.durationMs,
      statusCode: record.statusCode,
      error,
      outcome: record.kind,
    });
    if (record.kind === 'delivered') {
      await tx
        .update(w)
        .set({ failingSince: null })
        .where(and(eq(w.id, attempt.endpointId), isNotNull(w.failingSince)));
      return { recorded: true };
    }
    const [endpoint] = await tx
      .select({ enabled: w.enabled, failingSince: w.failingSince })
      .from(w)
      .where(eq(w.id, attempt.endpointId));
    if (!endpoint) return { recorded: true };
    const failingSince = endpoint.failingSince ?? now;
    const reason =
      record.kind === 'gone'
        ? `answered ${record.statusCode} Gone`
        : now - failingSince >= attempt.disableAfterMs
          ? `failing since ${new Date(failingSince).toISOString()}`
          : undefined;
    if (reason && endpoint.enabled) {
      await tx
        .update(w)
        .set({ enabled: false, disabledReason: reason, failingSince, updatedAt: now })
        .where(eq(w.id, attempt.endpointId));
      return { recorded: true, disabled: reason };
    }
    if (endpoint.failingSince === null) await tx.update(w).set({ failingSince }).where(eq(w.id, attempt.endpointId));
    return { recorded: true };
  });
  // A disabled endpoint gets no more deliveries written by this process from now on.
  if (result.disabled) forgetSubscribers(db);
  return result;
}

/** Gives up a pending delivery without an attempt (its endpoint was disabled). */
export async function giveUpDelivery(db: Db, deliveryId: string, error: string, now: number): Promise<void> {
  const d = db.tables.webhookDeliveries;
  await writeTx(db, async (tx) => {
    await tx
      .update(d)
      .set({ status: 'GIVEN_UP', lastError: error, lastAttemptAt: now })
      .where(and(eq(d.id, deliveryId), eq(d.status, 'PENDING')));
  });
}

/**
 * Sends a delivery again, whatever became of it: pending from now, with a fresh retry window,
 * and a `WebhooksDue` row in the same transaction so that the relay hands it on.
 */
export async function resendDelivery(db: Db, deliveryId: string, now: number): Promise<DeliveryRow> {
  return writeTx(db, async (tx) => {
    const d = tx.tables.webhookDeliveries;
    const [found] = await tx.select().from(d).where(eq(d.id, deliveryId));
    if (!found) throw noSuchDelivery(deliveryId);
    const set = { status: 'PENDING' as const, nextAttemptAt: now, windowStart: now };
    await tx.update(d).set(set).where(eq(d.id, deliveryId));
    await emit(tx, found.orderId, 'WebhooksDue', now);
    return { ...found, ...set };
  });
}

/** Sends again every delivery given up for an endpoint; answers how many. */
export async function resendGivenUp(db: Db, endpointId: string, now: number): Promise<number> {
  return writeTx(db, async (tx) => {
    const d = tx.tables.webhookDeliveries;
    const rows = await tx
      .select({ id: d.id, orderId: d.orderId })
      .from(d)
      .where(and(eq(d.endpointId, endpointId), eq(d.status, 'GIVEN_UP')));
    if (rows.length === 0) return 0;
    for (let i = 0; i < rows.length; i += 500) {
      const ids = rows.slice(i, i + 500).map((r) => r.id);
      await tx.update(d).set({ status: 'PENDING', nextAttemptAt: now, windowStart: now }).where(inArray(d.id, ids));
    }
    for (const orderId of new Set(rows.map((r) => r.orderId))) await emit(tx, orderId, 'WebhooksDue', now);
    return rows.length;
  });
}

/** A delivery as operators read it: with its event's type and time. */
export interface DeliveryView extends DeliveryRow {
  eventType: string;
  orderVersion: number;
  occurredAt: number;
}

function deliveryViews(db: Db) {
  const { webhookDeliveries: d, webhookEvents: e } = db.tables;
  return db
    .select({ delivery: d, eventType: e.type, orderVersion: e.orderVersion, occurredAt: e.occurredAt })
    .from(d)
    .innerJoin(e, eq(e.id, d.eventId));
}

const asView = (r: { delivery: DeliveryRow; eventType: string; orderVersion: number; occurredAt: number }): DeliveryView => ({
  ...r.delivery,
  eventType: r.eventType,
  orderVersion: r.orderVersion,
  occurredAt: r.occurredAt,
});

/** An endpoint's deliveries, newest first, of one status or all. */
export async function deliveriesOfEndpoint(
  db: Db,
  endpointId: string,
  options: { limit: number; status?: DeliveryStatus | undefined },
): Promise<DeliveryView[]> {
  const d = db.tables.webhookDeliveries;
  const rows = await deliveryViews(db)
    .where(and(eq(d.endpointId, endpointId), options.status ? eq(d.status, options.status) : undefined))
    .orderBy(desc(d.createdAt), desc(d.id))
    .limit(options.limit);
  return rows.map(asView);
}

/** An order's deliveries, in the order its events happened. */
export async function deliveriesOfOrder(db: Db, orderId: string): Promise<DeliveryView[]> {
  const d = db.tables.webhookDeliveries;
  const rows = await deliveryViews(db).where(eq(d.orderId, orderId)).orderBy(asc(d.createdAt), asc(d.id));
  return rows.map(asView);
}

/** The most recent deliveries of every endpoint. */
export async function recentDeliveries(db: Db, limit: number): Promise<DeliveryView[]> {
  const d = db.tables.webhookDeliveries;
  const rows = await deliveryViews(db).orderBy(desc(d.createdAt), desc(d.id)).limit(limit);
  return rows.map(asView);
}

/** Per endpoint, since when its oldest pending delivery has been owed (the metrics' age of what is owed). */
export async function oldestPendingByEndpoint(db: Db): Promise<{ endpointId: string; oldest: number }[]> {
  const d = db.tables.webhookDeliveries;
  const rows = await db
    .select({ endpointId: d.endpointId, oldest: sql<number>`min(${d.windowStart})` })
    .from(d)
    .where(eq(d.status, 'PENDING'))
    .groupBy(d.endpointId);
  return rows.map((r) => ({ endpointId: r.endpointId, oldest: Number(r.oldest) }));
}

/** One delivery as operators read it. */
export async function findDeliveryView(db: Db, deliveryId: string): Promise<DeliveryView | undefined> {
  const d = db.tables.webhookDeliveries;
  const [row] = await deliveryViews(db).where(eq(d.id, deliveryId));
  return row ? asView(row) : undefined;
}

export async function getDeliveryView(db: Db, deliveryId: string): Promise<DeliveryView> {
  const found = await findDeliveryView(db, deliveryId);
  if (!found) throw noSuchDelivery(deliveryId);
  return found;
}

function noSuchDelivery(deliveryId: string): NotFoundError {
  return new NotFoundError(`No webhook delivery has the id ${quote(deliveryId)}.`);
}

/** Per endpoint, how many of its deliveries are in each status. */
export async function deliveryCounts(db: Db): Promise<Map<string, Partial<Record<DeliveryStatus, number>>>> {
  const d = db.tables.webhookDeliveries;
  const rows = await db
    .select({ endpointId: d.endpointId, status: d.status, n: sql<number>`count(*)` })
    .from(d)
    .groupBy(d.endpointId, d.status);
  const counts = new Map<string, Partial<Record<DeliveryStatus, number>>>();
  for (const r of rows) counts.set(r.endpointId, { ...counts.get(r.endpointId), [r.status]: Number(r.n) });
  return counts;
}

/** A delivery's attempts, oldest first. */
export async function attemptsOf(db: Db, deliveryId: string): Promise<AttemptRow[]> {
  const a = db.tables.webhookAttempts;
  return db.select().from(a).where(eq(a.deliveryId, deliveryId)).orderBy(asc(a.number));
}
