/**
 * Facts about the database itself, in service_meta: its identity (a random id made the first time
 * it is opened, so that a queue prefix on Redis can say which database it belongs to), and a row
 * that readiness rewrites to prove the database still takes writes.
 */
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { writeTx, type Db } from './client.ts';
import { StorageUnavailableError } from './errors.ts';

/** The service_meta key of the database's identity. */
export const IDENTITY_KEY = 'database_id';
const PROBE_KEY = 'write_probe';

export async function databaseIdentity(db: Db): Promise<string> {
  const { serviceMeta } = db.tables;
  await writeTx(db, async (tx) => {
    await tx.insert(serviceMeta).values({ key: IDENTITY_KEY, value: randomUUID() }).onConflictDoNothing();
  });
  const [row] = await db.select({ value: serviceMeta.value }).from(serviceMeta).where(eq(serviceMeta.key, IDENTITY_KEY));
  return row!.value;
}

export type StorageState = 'ok' | 'down' | 'unwritable';

/**
 * Whether the database answers reads and takes writes: one read of a table, one tiny committed
 * write, and no storage failure in the last few seconds (a write that fits in space the file
 * already has can succeed while an order's insert fails).
 */
export async function checkStorage(db: Db, now = Date.now()): Promise<StorageState> {
  const { orders, serviceMeta } = db.tables;
  try {
    // Reads a table, not a constant, so that the file itself must be there and readable.
    await db.select({ one: sql`1` }).from(orders).limit(1);
  } catch {
    return 'down';
  }
  try {
    await writeTx(
      db,
      async (tx) => {
        await tx
          .insert(serviceMeta)
          .values({ key: PROBE_KEY, value: String(now) })
          .onConflictDoUpdate({ target: serviceMeta.key, set: { value: String(now) } });
      },
      { probe: true },
    );
  } catch (error) {
    if (error instanceof StorageUnavailableError) return 'unwritable';
    return 'down';
  }
  return db.connection.recentWriteFailure(now) ? 'unwritable' : 'ok';
}
