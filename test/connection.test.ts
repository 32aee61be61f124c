/**
 * What one connection owns, held against a drizzle, better-sqlite3 or node-postgres upgrade: the
 * SQLite statement cache compiles each SQL text once per connection and answers correctly whatever
 * mode drizzle left a statement in; the hot statements are built once per handle; write
 * transactions hand a `Tx` whose after-commit hooks run on commit only; a storage failure is
 * remembered by its connection alone; and on PostgreSQL, two handles share one database and a
 * transaction that conflicts with another runs again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { eq, sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeTx, type Db } from '../src/db/client.ts';
import { listValue } from '../src/db/dialect.ts';
import { closeDatabase } from '../src/db/open.ts';
import { statements } from '../src/db/statements.ts';
import { openStore, sqlNumber, storeEnv } from './support/store.ts';
import { testStore } from './support/test-database.ts';

let dir: string;
let db: Db;
let other: Db;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orders-connection-'));
  const env = await storeEnv(dir);
  db = await openStore(env);
  other = await openStore(env);
  await writeTx(db, (tx) =>
    tx.insert(tx.tables.products).values({ sku: 'SKU-1', name: 'One', priceCents: 100, available: 5, updatedAt: 0 }),
  );
});

afterEach(async () => {
  await closeDatabase(db);
  await closeDatabase(other);
  rmSync(dir, { recursive: true, force: true });
});

/** The better-sqlite3 connection under a SQLite handle (its reader). */
function sqliteClient(handle: Db): Database.Database {
  return (handle as unknown as { $client: Database.Database }).$client;
}

// The statement cache is SQLite's own (src/db/engines/sqlite.ts): node-postgres compiles named
// statements on the server, per client, without one of ours.
describe.runIf(testStore() === 'sqlite')('the SQLite statement cache', () => {
  it('compiles the same SQL text once per connection', () => {
    const text = 'SELECT sku FROM products WHERE sku = ?';
    expect(sqliteClient(db).prepare(text)).toBe(sqliteClient(db).prepare(text));
    expect(sqliteClient(other).prepare(text)).not.toBe(sqliteClient(db).prepare(text));
  });

  it('answers rows as objects after drizzle read the same statement in raw mode', async () => {
    const { products } = db.tables;
    const query = () =>
      db.select({ sku: products.sku, available: products.available }).from(products).where(eq(products.sku, 'SKU-1'));
    // drizzle reads a partial select with raw(true) and a full select as objects, on one SQL text.
    expect(await query()).toEqual([{ sku: 'SKU-1', available: 5 }]);
    const text = query().toSQL().sql;
    const statement = sqliteClient(db).prepare(text);
    statement.raw(true);
    expect(sqliteClient(db).prepare(text).get('SKU-1')).toEqual({ sku: 'SKU-1', available: 5 });
    expect(await query()).toEqual([{ sku: 'SKU-1', available: 5 }]);
    const all = (db as unknown as { all(query: unknown): unknown[] }).all(sql`SELECT sku, available FROM products`);
    expect(all).toEqual([{ sku: 'SKU-1', available: 5 }]);
  });

  it('runs every transaction on the writer with the same compiled hot statements', async () => {
    const first = await writeTx(db, async (tx) => statements(tx));
    const second = await writeTx(db, async (tx) => statements(tx));
    expect(second).toBe(first);
  });
});

describe('the hot statements', () => {
  it('are built once per handle, and run inside a transaction too', async () => {
    expect(statements(db)).toBe(statements(db));
    expect(statements(other)).not.toBe(statements(db));
    const inside = await writeTx(db, async (tx) => {
      expect(statements(tx)).toBe(statements(tx));
      return statements(tx).prices.execute({ skus: listValue(tx, ['SKU-1']) });
    });
    expect(inside).toEqual([{ sku: 'SKU-1', priceCents: 100, available: 5 }]);
    expect(await statements(db).prices.execute({ skus: listValue(db, ['SKU-1']) })).toEqual(inside);
  });
});

describe('a write transaction', () => {
  it("runs its after-commit hooks once it commits, and a savepoint's with it", async () => {
    const ran: string[] = [];
    await writeTx(db, async (tx) => {
      tx.afterCommit(() => ran.push('outer'));
      await writeTx(tx, async (sp) => sp.afterCommit(() => ran.push('savepoint')));
      expect(ran).toEqual([]);
    });
    expect(ran).toEqual(['outer', 'savepoint']);
  });

  it('never runs the hooks of a transaction or savepoint that rolled back', async () => {
    const ran: string[] = [];
    await writeTx(db, async (tx) => {
      await expect(
        writeTx(tx, async (sp) => {
          sp.afterCommit(() => ran.push('rolled back'));
          const { products } = sp.tables;
          await sp.update(products).set({ available: 0 }).where(eq(products.sku, 'SKU-1'));
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      tx.afterCommit(() => ran.push('kept'));
    });
    await expect(
      writeTx(db, async (tx) => {
        tx.afterCommit(() => ran.push('never'));
        const { products } = tx.tables;
        await tx.update(products).set({ available: 1 }).where(eq(products.sku, 'SKU-1'));
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(ran).toEqual(['kept']);
    // Neither write survived its rollback.
    expect(await sqlNumber(db, "SELECT available FROM products WHERE sku = 'SKU-1'")).toBe(5);
  });

  it('remembers a storage failure on its own connection only', async () => {
    const code = testStore() === 'postgres' ? '53100' : 'SQLITE_FULL';
    const full = Object.assign(new Error('disk full'), { code });
    await expect(
      writeTx(db, async () => {
        throw full;
      }),
    ).rejects.toThrow('disk full');
    expect(db.connection.recentWriteFailure()).toBe(code);
    expect(other.connection.recentWriteFailure()).toBeUndefined();
    expect(db.connection.recentWriteFailure(Date.now() + 60_000)).toBeUndefined();
  });
});

// Two handles on one PostgreSQL database are what two hosts of a deployment hold: their
// transactions truly run at once, which SQLite's one writer per file never lets happen.
describe.runIf(testStore() === 'postgres')('two PostgreSQL handles on one database', () => {
  it('see each other’s commits', async () => {
    const { products } = other.tables;
    await writeTx(other, (tx) => tx.update(products).set({ available: 9 }).where(eq(products.sku, 'SKU-1')));
    expect(await sqlNumber(db, "SELECT available FROM products WHERE sku = 'SKU-1'")).toBe(9);
  });

  it('run a transaction again when it conflicted with another, so that no decrement is lost', async () => {
    let runs = 0;
    let read = 0;
    let bothRead!: () => void;
    const barrier = new Promise<void>((resolve) => {
      bothRead = resolve;
    });
    const takeOne = (handle: Db) =>
      writeTx(handle, async (tx) => {
        const { products } = tx.tables;
        runs++;
        const [row] = await tx.select({ available: products.available }).from(products).where(eq(products.sku, 'SKU-1'));
        // The first runs of both read before either writes: one of them must fail and run again.
        if (++read === 2) bothRead();
        await barrier;
        await tx
          .update(products)
          .set({ available: row!.available - 1 })
          .where(eq(products.sku, 'SKU-1'));
      });
    await Promise.all([takeOne(db), takeOne(other)]);
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(await sqlNumber(db, "SELECT available FROM products WHERE sku = 'SKU-1'")).toBe(3);
  });

  it('apply migrations once when several open a new database at once', async () => {
    const fresh = await storeEnv(dir);
    const handles = await Promise.all(Array.from({ length: 4 }, () => openStore(fresh)));
    try {
      const applied = await sqlNumber(handles[0]!, 'SELECT count(*) FROM drizzle.__drizzle_migrations');
      const journal = (await import('../drizzle/postgres/meta/_journal.json', { with: { type: 'json' } })).default;
      expect(applied).toBe(journal.entries.length);
      for (const handle of handles) expect(await sqlNumber(handle, 'SELECT count(*) FROM orders')).toBe(0);
    } finally {
      await Promise.all(handles.map((handle) => closeDatabase(handle)));
    }
  });
});
