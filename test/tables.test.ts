/**
 * The SQLite and PostgreSQL tables are one schema in two dialects: the same tables under the same
 * names, the same column names, and the same row types, so that code written once against either
 * set of tables compiles and runs against the other. The type checks run under `npm run typecheck`.
 */
import { getTableColumns, getTableName, type Table } from 'drizzle-orm';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as servicePostgres from '../src/db/tables/postgres.ts';
import * as serviceSqlite from '../src/db/tables/sqlite.ts';
import * as operationsPostgres from '../src/db/tables/operations/postgres.ts';
import * as operationsSqlite from '../src/db/tables/operations/sqlite.ts';
import * as webhooksPostgres from '../src/db/tables/webhooks/postgres.ts';
import * as webhooksSqlite from '../src/db/tables/webhooks/sqlite.ts';
import * as moneyBackPostgres from '../src/db/tables/money-back/postgres.ts';
import * as moneyBackSqlite from '../src/db/tables/money-back/sqlite.ts';
import * as sandboxPostgres from '../src/sandbox/tables/postgres.ts';
import * as sandboxSqlite from '../src/sandbox/tables/sqlite.ts';

/** Each export's SQL table name, and its columns as property → SQL column name. */
function shape(module: Record<string, unknown>): Record<string, { table: string; columns: Record<string, string> }> {
  return Object.fromEntries(
    Object.entries(module).map(([name, table]) => [
      name,
      {
        table: getTableName(table as Table),
        columns: Object.fromEntries(Object.entries(getTableColumns(table as Table)).map(([key, column]) => [key, column.name])),
      },
    ]),
  );
}

/** Every table of a module by its export name, with the rows it reads and writes. */
type RowsOf<M> = {
  [K in keyof M]: M[K] extends { $inferSelect: infer S; $inferInsert: infer I } ? { select: S; insert: I } : never;
};

describe('the PostgreSQL tables mirror the SQLite tables', () => {
  it('under the same export names, table names and column names', () => {
    expect(Object.keys(servicePostgres).sort()).toEqual(Object.keys(serviceSqlite).sort());
    expect(Object.keys(sandboxPostgres).sort()).toEqual(Object.keys(sandboxSqlite).sort());
    expect(shape(servicePostgres)).toEqual(shape(serviceSqlite));
    expect(shape(sandboxPostgres)).toEqual(shape(sandboxSqlite));
    expect(Object.keys(operationsPostgres).sort()).toEqual(Object.keys(operationsSqlite).sort());
    expect(shape(operationsPostgres)).toEqual(shape(operationsSqlite));
    expect(Object.keys(webhooksPostgres).sort()).toEqual(Object.keys(webhooksSqlite).sort());
    expect(shape(webhooksPostgres)).toEqual(shape(webhooksSqlite));
    expect(Object.keys(moneyBackPostgres).sort()).toEqual(Object.keys(moneyBackSqlite).sort());
    expect(shape(moneyBackPostgres)).toEqual(shape(moneyBackSqlite));
    expect(Object.keys(serviceSqlite)).toHaveLength(8);
    expect(Object.keys(sandboxSqlite)).toHaveLength(5);
  });

  it('with the same row types for every table, including tables added later', () => {
    expectTypeOf<RowsOf<typeof servicePostgres>>().toEqualTypeOf<RowsOf<typeof serviceSqlite>>();
    expectTypeOf<RowsOf<typeof sandboxPostgres>>().toEqualTypeOf<RowsOf<typeof sandboxSqlite>>();
    expectTypeOf<RowsOf<typeof operationsPostgres>>().toEqualTypeOf<RowsOf<typeof operationsSqlite>>();
    expectTypeOf<RowsOf<typeof webhooksPostgres>>().toEqualTypeOf<RowsOf<typeof webhooksSqlite>>();
    expectTypeOf<RowsOf<typeof moneyBackPostgres>>().toEqualTypeOf<RowsOf<typeof moneyBackSqlite>>();
  });

  it('with the same row types, read and written, for every service table', () => {
    const s = serviceSqlite;
    const p = servicePostgres;
    expectTypeOf<typeof p.products.$inferSelect>().toEqualTypeOf<typeof s.products.$inferSelect>();
    expectTypeOf<typeof p.products.$inferInsert>().toEqualTypeOf<typeof s.products.$inferInsert>();
    expectTypeOf<typeof p.orders.$inferSelect>().toEqualTypeOf<typeof s.orders.$inferSelect>();
    expectTypeOf<typeof p.orders.$inferInsert>().toEqualTypeOf<typeof s.orders.$inferInsert>();
    expectTypeOf<typeof p.orderItems.$inferSelect>().toEqualTypeOf<typeof s.orderItems.$inferSelect>();
    expectTypeOf<typeof p.orderItems.$inferInsert>().toEqualTypeOf<typeof s.orderItems.$inferInsert>();
    expectTypeOf<typeof p.orderEvents.$inferSelect>().toEqualTypeOf<typeof s.orderEvents.$inferSelect>();
    expectTypeOf<typeof p.orderEvents.$inferInsert>().toEqualTypeOf<typeof s.orderEvents.$inferInsert>();
    expectTypeOf<typeof p.outbox.$inferSelect>().toEqualTypeOf<typeof s.outbox.$inferSelect>();
    expectTypeOf<typeof p.outbox.$inferInsert>().toEqualTypeOf<typeof s.outbox.$inferInsert>();
    expectTypeOf<typeof p.serviceMeta.$inferSelect>().toEqualTypeOf<typeof s.serviceMeta.$inferSelect>();
    expectTypeOf<typeof p.serviceMeta.$inferInsert>().toEqualTypeOf<typeof s.serviceMeta.$inferInsert>();
    expectTypeOf<typeof p.idempotencyKeys.$inferSelect>().toEqualTypeOf<typeof s.idempotencyKeys.$inferSelect>();
    expectTypeOf<typeof p.idempotencyKeys.$inferInsert>().toEqualTypeOf<typeof s.idempotencyKeys.$inferInsert>();
    expectTypeOf<typeof p.sentNotifications.$inferSelect>().toEqualTypeOf<typeof s.sentNotifications.$inferSelect>();
    expectTypeOf<typeof p.sentNotifications.$inferInsert>().toEqualTypeOf<typeof s.sentNotifications.$inferInsert>();
  });

  it('with the same row types, read and written, for every sandbox ledger', () => {
    const s = sandboxSqlite;
    const p = sandboxPostgres;
    expectTypeOf<typeof p.sandboxPaymentIntents.$inferSelect>().toEqualTypeOf<typeof s.sandboxPaymentIntents.$inferSelect>();
    expectTypeOf<typeof p.sandboxPaymentIntents.$inferInsert>().toEqualTypeOf<typeof s.sandboxPaymentIntents.$inferInsert>();
    expectTypeOf<typeof p.sandboxCharges.$inferSelect>().toEqualTypeOf<typeof s.sandboxCharges.$inferSelect>();
    expectTypeOf<typeof p.sandboxCharges.$inferInsert>().toEqualTypeOf<typeof s.sandboxCharges.$inferInsert>();
    expectTypeOf<typeof p.sandboxRefunds.$inferSelect>().toEqualTypeOf<typeof s.sandboxRefunds.$inferSelect>();
    expectTypeOf<typeof p.sandboxRefunds.$inferInsert>().toEqualTypeOf<typeof s.sandboxRefunds.$inferInsert>();
    expectTypeOf<typeof p.sandboxShipments.$inferSelect>().toEqualTypeOf<typeof s.sandboxShipments.$inferSelect>();
    expectTypeOf<typeof p.sandboxShipments.$inferInsert>().toEqualTypeOf<typeof s.sandboxShipments.$inferInsert>();
    expectTypeOf<typeof p.sandboxNotifications.$inferSelect>().toEqualTypeOf<typeof s.sandboxNotifications.$inferSelect>();
    expectTypeOf<typeof p.sandboxNotifications.$inferInsert>().toEqualTypeOf<typeof s.sandboxNotifications.$inferInsert>();
  });
});
