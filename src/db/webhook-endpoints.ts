/**
 * The webhook endpoints integrators registered: created with a secret shown once, listed without
 * it, changed, rotated (the old secret keeps signing beside the new one for a grace period),
 * disabled and deleted. Every change forgets this process's list of subscribers at once
 * (webhook-subscribers.ts); other processes see it within their cache's time.
 */
import { asc, eq, inArray } from 'drizzle-orm';
import { ulid } from 'ulid';
import { NotFoundError } from '../domain/errors.ts';
import { quote } from '../domain/text.ts';
import { writeTx, type Db } from './client.ts';
import { forgetSubscribers } from './webhook-subscribers.ts';

export interface EndpointRow {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
  enabled: boolean;
  disabledReason: string | null;
  failingSince: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewEndpoint {
  url: string;
  events: string[];
  description?: string | null | undefined;
  secret: string;
}

export async function createEndpoint(db: Db, input: NewEndpoint, now: number): Promise<EndpointRow> {
  const row: EndpointRow = {
    id: `we_${ulid(now)}`,
    url: input.url,
    description: input.description ?? null,
    events: [...new Set(input.events)],
    secret: input.secret,
    previousSecret: null,
    previousSecretExpiresAt: null,
    enabled: true,
    disabledReason: null,
    failingSince: null,
    createdAt: now,
    updatedAt: now,
  };
  await writeTx(db, async (tx) => {
    await tx.insert(tx.tables.webhookEndpoints).values(row);
  });
  forgetSubscribers(db);
  return row;
}

export async function listEndpoints(db: Db): Promise<EndpointRow[]> {
  const t = db.tables.webhookEndpoints;
  return db.select().from(t).orderBy(asc(t.createdAt), asc(t.id));
}

export async function findEndpoint(db: Db, id: string): Promise<EndpointRow | undefined> {
  const t = db.tables.webhookEndpoints;
  return (await db.select().from(t).where(eq(t.id, id)))[0];
}

export async function getEndpoint(db: Db, id: string): Promise<EndpointRow> {
  const found = await findEndpoint(db, id);
  if (!found) throw new NotFoundError(`No webhook endpoint has the id ${quote(id)}.`);
  return found;
}

export interface EndpointChanges {
  url?: string | undefined;
  events?: string[] | undefined;
  description?: string | null | undefined;
  enabled?: boolean | undefined;
}

/** Changes an endpoint; enabling it again clears why it was disabled and its failing streak. */
export async function updateEndpoint(db: Db, id: string, changes: EndpointChanges, now: number): Promise<EndpointRow> {
  const updated = await writeTx(db, async (tx) => {
    const t = tx.tables.webhookEndpoints;
    const [found] = await tx.select().from(t).where(eq(t.id, id));
    if (!found) throw new NotFoundError(`No webhook endpoint has the id ${quote(id)}.`);
    const next: EndpointRow = {
      ...found,
      ...(changes.url !== undefined ? { url: changes.url } : {}),
      ...(changes.events !== undefined ? { events: [...new Set(changes.events)] } : {}),
      ...(changes.description !== undefined ? { description: changes.description } : {}),
      updatedAt: now,
    };
    if (changes.enabled === true && !found.enabled)
      Object.assign(next, { enabled: true, disabledReason: null, failingSince: null });
    if (changes.enabled === false && found.enabled)
      Object.assign(next, { enabled: false, disabledReason: 'disabled by an operator' });
    const { id: _, createdAt: __, ...set } = next;
    await tx.update(t).set(set).where(eq(t.id, id));
    return next;
  });
  forgetSubscribers(db);
  return updated;
}

/**
 * A new secret; the one it replaces keeps signing beside it for `graceMs`, so that receivers can
 * switch without missing a message.
 */
export async function rotateSecret(db: Db, id: string, secret: string, graceMs: number, now: number): Promise<EndpointRow> {
  return writeTx(db, async (tx) => {
    const t = tx.tables.webhookEndpoints;
    const [found] = await tx.select().from(t).where(eq(t.id, id));
    if (!found) throw new NotFoundError(`No webhook endpoint has the id ${quote(id)}.`);
    const set = { secret, previousSecret: found.secret, previousSecretExpiresAt: now + graceMs, updatedAt: now };
    await tx.update(t).set(set).where(eq(t.id, id));
    return { ...found, ...set };
  });
}

/**
 * Deletes an endpoint with its deliveries and their attempts (the events stay: other endpoints may
 * share them).
 */
export async function deleteEndpoint(db: Db, id: string): Promise<void> {
  await writeTx(db, async (tx) => {
    const t = tx.tables.webhookEndpoints;
    const [found] = await tx.select({ id: t.id }).from(t).where(eq(t.id, id));
    if (!found) throw new NotFoundError(`No webhook endpoint has the id ${quote(id)}.`);
    const { webhookDeliveries: d, webhookAttempts: a } = tx.tables;
    const itsDeliveries = tx.select({ id: d.id }).from(d).where(eq(d.endpointId, id));
    await tx.delete(a).where(inArray(a.deliveryId, itsDeliveries));
    await tx.delete(d).where(eq(d.endpointId, id));
    await tx.delete(t).where(eq(t.id, id));
  });
  forgetSubscribers(db);
}

/** The secrets a message to `endpoint` is signed with at `now`: the current one, and the previous in its grace period. */
export function signingSecrets(
  endpoint: Pick<EndpointRow, 'secret' | 'previousSecret' | 'previousSecretExpiresAt'>,
  now: number,
): string[] {
  const previous =
    endpoint.previousSecret && endpoint.previousSecretExpiresAt !== null && endpoint.previousSecretExpiresAt > now
      ? [endpoint.previousSecret]
      : [];
  return [endpoint.secret, ...previous];
}
