/**
 * "A payment or stock still to settle" (domain `hasSomethingToSettle`) as SQL, written once for
 * the partial index orders_unsettled_idx and the reconciler's query that must use it: a planner
 * takes a partial index only for a condition it can match to the index's own, word for word.
 * The words come from the lifecycle's compensation table; changing them changes the index, which
 * `npm run db:generate` then turns into a migration.
 */
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { HELD_STOCK, UNSETTLED_PAYMENTS } from '../../domain/order-machine.ts';

/** A list of the domain's words as SQL literals: the planner matches a partial index on literals only. */
export function literals(words: readonly string[]): SQL {
  return sql.raw(words.map((w) => `'${w}'`).join(', '));
}

export function unsettled(t: { paymentStatus: AnyColumn; stockStatus: AnyColumn }): SQL {
  const held = HELD_STOCK.length === 1 ? sql`= ${literals(HELD_STOCK)}` : sql`IN (${literals(HELD_STOCK)})`;
  return sql`${t.paymentStatus} IN (${literals(UNSETTLED_PAYMENTS)}) OR ${t.stockStatus} ${held}`;
}
