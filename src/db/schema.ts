/**
 * The tables the service runs on today (SQLite), with their row types, under the name the rest of
 * the code imports them by. The definitions are in ./tables/.
 */
export * from './tables/sqlite.ts';
export type { OrderEventRow, OrderItemRow, OrderRow, ProductRow } from './tables/rows.ts';
export type { ShippingAddress } from './tables/shipping-address.ts';
