/**
 * The row types business code reads, taken from the PostgreSQL tables: the SQLite tables have the
 * very same row types (test/tables.test.ts), so code typed with these runs against either.
 */
import type { orderEvents, orderItems, orders, products } from './postgres.ts';

export type OrderRow = typeof orders.$inferSelect;
export type OrderItemRow = typeof orderItems.$inferSelect;
export type ProductRow = typeof products.$inferSelect;
export type OrderEventRow = typeof orderEvents.$inferSelect;
