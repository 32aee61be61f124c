/**
 * Idempotency keys with Stripe's semantics: the first response to a key is stored with a
 * fingerprint of its request; a retry with the same request answers it again, one with another
 * request is refused, and a key is forgotten once it expires. Called inside the write
 * transaction of the request it guards, so concurrent first uses of a key cannot both act.
 */
import { eq, lte } from 'drizzle-orm';
import { UnprocessableError } from '../domain/errors.ts';
import { writeTx, type Db, type Tx } from './client.ts';
import { rowsChanged } from './dialect.ts';

export interface IdempotencyRequest {
  key: string;
  /** A digest of the request, the same for the same request however it is written. */
  fingerprint: string;
  ttlMs: number;
}

export interface StoredResponse {
  orderId: string;
  statusCode: number;
  body: string;
}

/**
 * The stored response to replay for this key, or undefined when the key is new (or expired,
 * in which case it is deleted and free again). Throws a 422 when the key was used with another
 * request.
 */
export async function findReplay(tx: Tx, request: IdempotencyRequest, now: number): Promise<StoredResponse | undefined> {
  const { idempotencyKeys } = tx.tables;
  const [seen] = await tx.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, request.key));
  if (!seen) return undefined;
  if (seen.expiresAt <= now) {
    await tx.delete(idempotencyKeys).where(eq(idempotencyKeys.key, request.key));
    return undefined;
  }
  if (seen.fingerprint !== request.fingerprint) {
    throw new UnprocessableError('This Idempotency-Key was already used with a different request body.', [
      { field: 'Idempotency-Key', message: 'reused with a different request' },
    ]);
  }
  return { orderId: seen.orderId, statusCode: seen.statusCode, body: seen.responseBody };
}

/** Stores the response to a key's first request, for its replays until the key expires. */
export async function rememberResponse(
  tx: Tx,
  request: IdempotencyRequest,
  response: StoredResponse,
  now: number,
): Promise<void> {
  await tx.insert(tx.tables.idempotencyKeys).values({
    key: request.key,
    fingerprint: request.fingerprint,
    orderId: response.orderId,
    statusCode: response.statusCode,
    responseBody: response.body,
    createdAt: now,
    expiresAt: now + request.ttlMs,
  });
}

/** Deletes the keys that expired at or before `now`; answers how many. */
export function sweepIdempotencyKeys(db: Db, now: number): Promise<number> {
  const { idempotencyKeys } = db.tables;
  return writeTx(db, async (tx) => rowsChanged(await tx.delete(idempotencyKeys).where(lte(idempotencyKeys.expiresAt, now))));
}
