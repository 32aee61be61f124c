/**
 * One process holds a SQLite and a PostgreSQL database at once, each handle naming its own
 * engine's tables (`db.tables`), its own statements and its own sandbox ledgers: an order placed,
 * charged and reserved on each, interleaved, lands in its own database only.
 *
 * PostgreSQL only: the second database is on the run's private PostgreSQL server, which only the
 * postgres project starts; the SQLite one is a file, as on either project.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTx, type Db } from '../src/db/client.ts';
import { closeDatabase, openDatabase } from '../src/db/open.ts';
import { findOrder, getTimeline } from '../src/db/orders.ts';
import { planCharge, recordPaymentOutcome } from '../src/db/payments.ts';
import { placeOrder } from '../src/db/placement.ts';
import { listProducts, reserveStock, upsertProduct } from '../src/db/stock.ts';
import { tablesFor } from '../src/db/tables/index.ts';
import { sandboxLedgers } from '../src/sandbox/ledger.ts';
import { SandboxPaymentGateway } from '../src/sandbox/payment-gateway.ts';
import { sandboxTablesFor } from '../src/sandbox/tables/index.ts';
import { sqlNumber } from './support/store.ts';
import { testDatabaseUrl, testStore } from './support/test-database.ts';

const now = 1_800_000_000_000;
const TIMEOUT_MS = 30_000;

/** Places, charges through the sandbox gateway on the same database, and reserves one order. */
async function orderThrough(db: Db, customerId: string, quantity: number): Promise<string> {
  const placed = await placeOrder(
    db,
    {
      customerId,
      items: [{ sku: 'SKU-1', quantity }],
      paymentToken: 'tok_visa',
      shippingAddress: { name: 'N', line1: 'L', city: 'C', postalCode: 'P', country: 'FR' },
    },
    now,
  );
  if (placed.replayed) throw new Error('a new order was answered as a replay');
  const orderId = placed.order.id;
  const plan = await writeTx(db, (tx) => planCharge(tx, orderId, now + 1, TIMEOUT_MS));
  if (plan.action !== 'charge') throw new Error(`no charge planned: ${JSON.stringify(plan)}`);
  const gateway = new SandboxPaymentGateway(db, { latencyMs: 0, slowAnswerMs: 0, now: () => now + 2 });
  const outcome = await gateway.charge({
    idempotencyKey: orderId,
    orderId,
    amountCents: plan.order.totalCents,
    currency: plan.order.currency,
    token: 'tok_visa',
  });
  await writeTx(db, (tx) => recordPaymentOutcome(tx, orderId, outcome, now + 3, TIMEOUT_MS));
  expect(await reserveStock(db, orderId, now + 4)).toBe('reserved');
  return orderId;
}

describe.runIf(testStore() === 'postgres')('one process with a SQLite and a PostgreSQL database', () => {
  let dir: string;
  let sqlite: Db;
  let postgres: Db;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-both-engines-'));
    // Either order of opening works: nothing is bound to the first engine a process opens.
    postgres = await openDatabase({ url: await testDatabaseUrl(), path: join(dir, 'unused.db'), poolSize: 2 });
    sqlite = await openDatabase({ path: join(dir, 'orders.db') });
  });

  afterAll(async () => {
    await closeDatabase(sqlite);
    await closeDatabase(postgres);
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives each handle its own engine's tables and ledgers", () => {
    expect(sqlite.connection.engine).toBe('sqlite');
    expect(postgres.connection.engine).toBe('postgres');
    expect(sqlite.tables).toBe(tablesFor('sqlite'));
    expect(postgres.tables).toBe(tablesFor('postgres'));
    expect(sqlite.tables.orders).not.toBe(postgres.tables.orders);
    expect(sandboxTablesFor('sqlite').sandboxCharges).not.toBe(sandboxTablesFor('postgres').sandboxCharges);
  });

  it('writes and reads an order on each through its own handle, interleaved, each in its own database only', async () => {
    await Promise.all([
      upsertProduct(sqlite, { sku: 'SKU-1', name: 'On SQLite', priceCents: 100, stock: 10 }, now),
      upsertProduct(postgres, { sku: 'SKU-1', name: 'On PostgreSQL', priceCents: 250, stock: 20 }, now),
    ]);
    const [onSqlite, onPostgres] = await Promise.all([
      orderThrough(sqlite, 'cus_sqlite', 2),
      orderThrough(postgres, 'cus_postgres', 3),
    ]);

    // Each order, read back through its own handle, with its own catalog's price.
    expect(await findOrder(sqlite, onSqlite)).toMatchObject({
      customerId: 'cus_sqlite',
      status: 'AWAITING_SHIPMENT',
      totalCents: 200,
    });
    expect(await findOrder(postgres, onPostgres)).toMatchObject({
      customerId: 'cus_postgres',
      status: 'AWAITING_SHIPMENT',
      totalCents: 750,
    });
    // Neither database holds the other's order.
    expect(await findOrder(sqlite, onPostgres)).toBeUndefined();
    expect(await findOrder(postgres, onSqlite)).toBeUndefined();
    for (const db of [sqlite, postgres]) expect(await sqlNumber(db, 'SELECT count(*) FROM orders')).toBe(1);

    // Each order's timeline and stock moves are in its own database.
    const types = async (db: Db, id: string) => (await getTimeline(db, id)).map((entry) => entry.type);
    expect(await types(sqlite, onSqlite)).toEqual(await types(postgres, onPostgres));
    expect(await types(sqlite, onSqlite)).toContain('InventoryReserved');
    expect((await listProducts(sqlite)).map((p) => [p.name, p.available, p.reserved])).toEqual([['On SQLite', 8, 2]]);
    expect((await listProducts(postgres)).map((p) => [p.name, p.available, p.reserved])).toEqual([['On PostgreSQL', 17, 3]]);

    // The sandbox gateway built on each database charged into that database's ledger.
    const sqliteCharges = (await sandboxLedgers(sqlite).payments()).charges;
    const postgresCharges = (await sandboxLedgers(postgres).payments()).charges;
    expect(sqliteCharges.map((c) => [c.orderId, c.amountCents])).toEqual([[onSqlite, 200]]);
    expect(postgresCharges.map((c) => [c.orderId, c.amountCents])).toEqual([[onPostgres, 750]]);
  });
});
