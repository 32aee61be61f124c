/**
 * What one connection owns, held against a drizzle or better-sqlite3 upgrade: the statement cache
 * compiles each SQL text once per connection and answers correctly whatever mode drizzle left a
 * statement in; the hot statements are built once per connection; write transactions hand a `Tx`
 * whose after-commit hooks run on commit only, and a storage failure is remembered by its
 * connection alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeDatabase, openDatabase, writeTx, type Db } from '../src/db/client.ts';
import { products } from '../src/db/schema.ts';
import { statements } from '../src/db/statements.ts';

let dir: string;
let db: Db;
let other: Db;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'orders-connection-'));
  db = openDatabase(join(dir, 'orders.db'));
  other = openDatabase(join(dir, 'orders.db'));
  db.insert(products).values({ sku: 'SKU-1', name: 'One', priceCents: 100, available: 5, updatedAt: 0 }).run();
});

afterEach(() => {
  closeDatabase(db);
  closeDatabase(other);
  rmSync(dir, { recursive: true, force: true });
});

describe('the statement cache', () => {
  it('compiles the same SQL text once per connection', () => {
    const text = 'SELECT sku FROM products WHERE sku = ?';
    expect(db.$client.prepare(text)).toBe(db.$client.prepare(text));
    expect(other.$client.prepare(text)).not.toBe(db.$client.prepare(text));
  });

  it('answers rows as objects after drizzle read the same statement in raw mode', () => {
    const query = () =>
      db.select({ sku: products.sku, available: products.available }).from(products).where(eq(products.sku, 'SKU-1'));
    // drizzle reads a partial select with raw(true) and a full select as objects, on one SQL text.
    expect(query().all()).toEqual([{ sku: 'SKU-1', available: 5 }]);
    const text = query().toSQL().sql;
    const statement = db.$client.prepare(text);
    statement.raw(true);
    expect(db.$client.prepare(text).get('SKU-1')).toEqual({ sku: 'SKU-1', available: 5 });
    expect(query().get()).toEqual({ sku: 'SKU-1', available: 5 });
    expect(db.all(sql`SELECT sku, available FROM products`)).toEqual([{ sku: 'SKU-1', available: 5 }]);
  });

  it('builds the hot statements once per connection, and runs them inside a transaction too', () => {
    expect(statements(db)).toBe(statements(db));
    expect(statements(other)).not.toBe(statements(db));
    const inside = writeTx(db, (tx) => {
      expect(statements(tx)).toBe(statements(db));
      return statements(tx).prices.all({ skus: JSON.stringify(['SKU-1']) });
    });
    expect(inside).toEqual([{ sku: 'SKU-1', priceCents: 100, available: 5 }]);
  });
});

describe('a write transaction', () => {
  it("runs its after-commit hooks once it commits, and a savepoint's with it", () => {
    const ran: string[] = [];
    writeTx(db, (tx) => {
      tx.afterCommit(() => ran.push('outer'));
      writeTx(tx, (sp) => sp.afterCommit(() => ran.push('savepoint')));
      expect(ran).toEqual([]);
    });
    expect(ran).toEqual(['outer', 'savepoint']);
  });

  it('never runs the hooks of a transaction or savepoint that rolled back', () => {
    const ran: string[] = [];
    writeTx(db, (tx) => {
      expect(() =>
        writeTx(tx, (sp) => {
          sp.afterCommit(() => ran.push('rolled back'));
          throw new Error('no');
        }),
      ).toThrow('no');
      tx.afterCommit(() => ran.push('kept'));
    });
    expect(() =>
      writeTx(db, (tx) => {
        tx.afterCommit(() => ran.push('never'));
        throw new Error('no');
      }),
    ).toThrow('no');
    expect(ran).toEqual(['kept']);
  });

  it('remembers a storage failure on its own connection only', () => {
    const full = Object.assign(new Error('disk full'), { code: 'SQLITE_FULL' });
    expect(() =>
      writeTx(db, () => {
        throw full;
      }),
    ).toThrow('disk full');
    expect(db.connection.recentWriteFailure()).toBe('SQLITE_FULL');
    expect(other.connection.recentWriteFailure()).toBeUndefined();
    expect(db.connection.recentWriteFailure(Date.now() + 60_000)).toBeUndefined();
  });
});
