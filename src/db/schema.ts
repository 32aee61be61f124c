/**
 * The service's tables, as the business code names them: the source of truth for every order
 * (DESIGN.md principle 1). Each engine defines them (src/db/tables/sqlite.ts and postgres.ts,
 * with identical row types: test/tables.test.ts); these bindings point at the definitions of the
 * engine the process opened (src/db/engine-binding.ts), typed as PostgreSQL's. Read them when a
 * query is built, never into a module-level constant, which would keep the binding of import time.
 *
 * Times are integer milliseconds since the epoch; money is integer cents. The simulated outside
 * world keeps its own ledgers in the same database (src/sandbox/schema.ts).
 */
import { onEngine, unbound } from './engine-binding.ts';
import * as postgres from './tables/postgres.ts';
import * as sqlite from './tables/sqlite.ts';

export type { ShippingAddress } from './tables/shipping-address.ts';
export type { OrderEventRow, OrderItemRow, OrderRow, ProductRow } from './tables/rows.ts';

type Tables = Pick<
  typeof postgres,
  'products' | 'orders' | 'orderItems' | 'orderEvents' | 'outbox' | 'serviceMeta' | 'idempotencyKeys' | 'sentNotifications'
>;

export let products: Tables['products'] = unbound('products');
export let orders: Tables['orders'] = unbound('orders');
export let orderItems: Tables['orderItems'] = unbound('orderItems');
export let orderEvents: Tables['orderEvents'] = unbound('orderEvents');
export let outbox: Tables['outbox'] = unbound('outbox');
export let serviceMeta: Tables['serviceMeta'] = unbound('serviceMeta');
export let idempotencyKeys: Tables['idempotencyKeys'] = unbound('idempotencyKeys');
export let sentNotifications: Tables['sentNotifications'] = unbound('sentNotifications');

onEngine((engine) => {
  // The SQLite definitions have the PostgreSQL ones' row types; only drizzle's dialect tag differs.
  const chosen = (engine === 'sqlite' ? sqlite : postgres) as unknown as Tables;
  ({ products, orders, orderItems, orderEvents, outbox, serviceMeta, idempotencyKeys, sentNotifications } = chosen);
});
