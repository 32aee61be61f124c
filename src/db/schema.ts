/**
 * The row types business code reads (orders, their items and timeline, products, the shipping
 * address), under the one name the modules import them by. The tables themselves are not here:
 * a query takes them from the handle or transaction it is given (`db.tables.orders`,
 * src/db/tables/index.ts), so that a process may hold databases of both engines at once.
 *
 * Times are integer milliseconds since the epoch; money is integer cents.
 */
export type { ShippingAddress } from './tables/shipping-address.ts';
export type { OrderEventRow, OrderItemRow, OrderRow, ProductRow } from './tables/rows.ts';
