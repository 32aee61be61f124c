/**
 * Read access to the simulated outside world's own records, for the admin API and the tests.
 */
import { asc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { sandboxTables } from './tables/index.ts';

export async function sandboxPayments(db: Db, orderId?: string) {
  const { sandboxCharges, sandboxRefunds } = sandboxTables(db);
  const chargeRows = db
    .select({ id: sandboxCharges.id, orderId: sandboxCharges.orderId, amountCents: sandboxCharges.amountCents })
    .from(sandboxCharges);
  const refundRows = db
    .select({ id: sandboxRefunds.id, orderId: sandboxRefunds.orderId, amountCents: sandboxRefunds.amountCents })
    .from(sandboxRefunds);
  return {
    charges: await (orderId ? chargeRows.where(eq(sandboxCharges.orderId, orderId)) : chargeRows).orderBy(
      asc(sandboxCharges.createdAt),
    ),
    refunds: await (orderId ? refundRows.where(eq(sandboxRefunds.orderId, orderId)) : refundRows).orderBy(
      asc(sandboxRefunds.createdAt),
    ),
  };
}

export async function sandboxMessages(db: Db, orderId?: string) {
  const { sandboxNotifications } = sandboxTables(db);
  const rows = db
    .select({ orderId: sandboxNotifications.orderId, kind: sandboxNotifications.kind, channel: sandboxNotifications.channel })
    .from(sandboxNotifications);
  return {
    messages: await (orderId ? rows.where(eq(sandboxNotifications.orderId, orderId)) : rows).orderBy(
      asc(sandboxNotifications.id),
    ),
  };
}

/** Both ledgers of `db`, as the admin API receives them (api/admin.ts SandboxLedgers). */
export function sandboxLedgers(db: Db) {
  return {
    payments: (orderId?: string) => sandboxPayments(db, orderId),
    messages: (orderId?: string) => sandboxMessages(db, orderId),
  };
}
