/**
 * `orders copy-to-postgres`: a deployment run on SQLite as the README's walk-through runs it, then
 * stopped and copied into an empty PostgreSQL database, answers the same orders there and takes
 * new ones. Run as real processes: the service, the CLI, the run's private PostgreSQL server.
 *
 * PostgreSQL only: the copy's target is a PostgreSQL database, which only the postgres project
 * provides (its private server); the source is a SQLite file on either project.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signBody } from '../src/api/webhooks.ts';
import { clientHeaders } from '../src/cli/http-client.ts';
import { getTableName, sql } from 'drizzle-orm';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { COPIED_TABLES, copyToPostgres, lockSqlite } from '../src/tools/copy-to-postgres.ts';
import * as serviceSqlite from '../src/db/tables/sqlite.ts';
import * as webhooksSqlite from '../src/db/tables/webhooks/sqlite.ts';
import * as operationsSqlite from '../src/db/tables/operations/sqlite.ts';
import * as moneyBackSqlite from '../src/db/tables/money-back/sqlite.ts';
import * as sandboxSqlite from '../src/sandbox/tables/sqlite.ts';
import { closeDatabase, openDatabase } from '../src/db/open.ts';
import { freePort } from '../src/redis-server/managed-redis.ts';
import { runCli } from './support/cli.ts';
import { ADMIN_TOKEN, API_KEY, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { placeOrderOver, startServiceProcess, type ServiceProcess } from './support/processes.ts';
import { openStore, sqlNumber, sqlRows } from './support/store.ts';
import { testDatabaseUrl, testStore } from './support/test-database.ts';

const TABLES = [
  'products',
  'orders',
  'order_items',
  'order_events',
  'idempotency_keys',
  'sent_notifications',
  'outbox',
  'service_meta',
  'sandbox_payment_intents',
  'sandbox_charges',
  'sandbox_refunds',
  'sandbox_shipments',
  'sandbox_notifications',
  'operator_actions',
  'failed_attempts',
  'webhook_endpoints',
  'webhook_events',
  'webhook_deliveries',
  'webhook_attempts',
  'refunds',
  'returns',
  'return_items',
];

/** Statuses an order rests in without a webhook; payment statuses that still wait on a job. */
const AT_REST = ['SHIPPED', 'COMPLETED', 'FAILED', 'CANCELLED'];
const PAYMENT_MOVING = ['PENDING', 'REFUND_PENDING'];

let dir: string;
let service: ServiceProcess | undefined;

/** The SQLite file's row count per table, read without the service. */
function sqliteCounts(path: string): Record<string, number> {
  const sqlite = new Database(path, { readonly: true });
  try {
    return Object.fromEntries(
      TABLES.map((t) => [t, (sqlite.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]),
    );
  } finally {
    sqlite.close();
  }
}

async function postgresCounts(url: string, path: string): Promise<Record<string, number>> {
  const db = await openStore({ DATABASE_URL: url, DATABASE_PATH: path });
  try {
    const counts: Record<string, number> = {};
    for (const t of TABLES) counts[t] = await sqlNumber(db, `SELECT count(*) AS n FROM ${t}`);
    return counts;
  } finally {
    await closeDatabase(db);
  }
}

async function getOrder(base: string, id: string): Promise<Record<string, any>> {
  const res = await fetch(`${base}/orders/${id}`, { headers: clientHeaders(API_KEY) });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
}

/** Waits until every order rests and its payment waits on nothing. */
async function settle(base: string, ids: string[]): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const orders = await Promise.all(ids.map((id) => getOrder(base, id)));
    if (orders.every((o) => AT_REST.includes(o.status) && !PAYMENT_MOVING.includes(o.payment.status))) return;
    await sleep(100);
  }
  throw new Error('orders did not settle');
}

describe.runIf(testStore() === 'postgres')('orders copy-to-postgres', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'orders-copy-'));
  });

  afterAll(async () => {
    await service?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies a stopped SQLite deployment into an empty PostgreSQL database, where the service answers the same orders and takes new ones', async () => {
    const path = join(dir, 'orders.db');
    const env = {
      DATABASE_PATH: path,
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: `copy${Date.now()}`,
      PORT: String(await freePort()),
      ADMIN_TOKEN,
      WEBHOOK_SECRET,
      RELAY_SWEEP_MS: '50',
      JOB_BACKOFF_MS: '20',
    };
    expect((await runCli(['seed'], { DATABASE_PATH: path })).code).toBe(0);
    service = await startServiceProcess(env);
    let base = `http://127.0.0.1:${service.port}`;

    const ids: string[] = [];
    const place = async (token: string, key: string) => {
      const placed = await placeOrderOver(base, orderBody(token, [{ sku: 'DEMO-MUG', quantity: 2 }]), { 'idempotency-key': key });
      expect(placed.status).toBe(201);
      ids.push(placed.id!);
      return placed.id!;
    };
    await place('tok_visa', 'copy-visa');
    await place('tok_chargeDeclined', 'copy-declined');
    // Cancelled before it ships; a fast worker may ship one first, so try a few.
    let cancelled = false;
    for (let i = 0; i < 5 && !cancelled; i++) {
      const id = await place('tok_visa', `copy-cancel-${i}`);
      const res = await fetch(`${base}/orders/${id}/cancel`, { method: 'POST', headers: clientHeaders(API_KEY) });
      expect([200, 409]).toContain(res.status);
      cancelled = res.status === 200;
    }
    expect(cancelled).toBe(true);
    await settle(base, ids);
    await sleep(500);
    const before = await Promise.all(ids.map((id) => getOrder(base, id)));
    expect(before.map((o) => o.status)).toEqual(expect.arrayContaining(['SHIPPED', 'FAILED', 'CANCELLED']));
    // While the deployment runs, nothing is copied, even though its file's lock is free between writes.
    const live = await runCli(['copy-to-postgres', '--to', await testDatabaseUrl()], {
      DATABASE_PATH: path,
      REDIS_URL: env.REDIS_URL,
      QUEUE_PREFIX: env.QUEUE_PREFIX,
    });
    expect(live.code).toBe(1);
    expect(live.stderr).toMatch(
      new RegExp(
        `^orders: the source deployment is running: workers are connected on QUEUE_PREFIX=${env.QUEUE_PREFIX} \\(payment \\d+, .*\\); stop every process of it first\n$`,
      ),
    );
    expect(await service.kill('SIGTERM')).toBe(0);
    service = undefined;

    const source = sqliteCounts(path);
    expect(source.orders).toBe(ids.length);
    for (const t of ['order_events', 'outbox', 'sandbox_notifications', 'service_meta']) expect(source[t]).toBeGreaterThan(0);

    // While something holds the file's write lock, nothing is copied.
    const url = await testDatabaseUrl();
    const holder = new Database(path);
    holder.exec('BEGIN IMMEDIATE');
    const locked = await runCli(['copy-to-postgres', '--to', url], { DATABASE_PATH: path });
    holder.exec('ROLLBACK');
    holder.close();
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(
      /^orders: cannot lock the SQLite database at .*: is the service still running\? Stop it first\n$/,
    );

    // The copy replaces the source: it keeps its identity, and so may claim its queue prefix.
    const copy = await runCli(['copy-to-postgres', '--to', url, '--replaces-source', '--json'], { DATABASE_PATH: path });
    expect(copy.stderr).toBe('');
    expect(copy.code).toBe(0);
    const total = Object.values(source).reduce((a, b) => a + b, 0);
    expect(copy.json).toEqual({
      from: path,
      to: expect.any(String),
      tables: TABLES.map((table) => ({ table, sqlite: source[table], postgres: source[table] })),
      rows: total,
      identity: 'source',
    });
    expect(await postgresCounts(url, path)).toEqual(source);

    // Run again: the target has rows now, and is left as it is.
    const again = await runCli(['copy-to-postgres', '--to', url], { DATABASE_PATH: path });
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toMatch(
      /^orders: the target database is not empty \(rows in products, orders, .*\): copy only into an empty one\n$/,
    );
    expect(await postgresCounts(url, path)).toEqual(source);

    // The service on PostgreSQL, under the same queue prefix, answers what it answered on SQLite.
    service = await startServiceProcess({ ...env, DATABASE_URL: url, PORT: String(await freePort()) });
    base = `http://127.0.0.1:${service.port}`;
    expect(await Promise.all(ids.map((id) => getOrder(base, id)))).toEqual(before);

    // A copy that does not replace its source is another deployment: a service on it under the
    // source's queue prefix is refused, instead of taking the source's jobs.
    const other = await testDatabaseUrl();
    const second = await runCli(['copy-to-postgres', '--to', other, '--json'], { DATABASE_PATH: path });
    expect(second.code).toBe(0);
    expect(second.json.identity).toBe('new');
    const refused = startServiceProcess({ ...env, DATABASE_URL: other, PORT: String(await freePort()) });
    await expect(refused).rejects.toThrow(
      new RegExp(`exited with 1 .*QUEUE_PREFIX=${env.QUEUE_PREFIX} belongs to another database`),
    );

    // A new order takes ids after the copied ones (timeline, outbox, notifications) and completes.
    const fresh = await place('tok_visa', 'copy-after');
    await settle(base, [fresh]);
    const shipped = await getOrder(base, fresh);
    expect(shipped.status).toBe('SHIPPED');
    const raw = JSON.stringify({ trackingNumber: shipped.shipment.trackingNumber, status: 'delivered' });
    const delivered = await fetch(`${base}/webhooks/carrier`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature': signBody(raw, WEBHOOK_SECRET) },
      body: raw,
    });
    expect(delivered.status).toBe(200);
    expect((await getOrder(base, fresh)).status).toBe('COMPLETED');
    const db = await openStore({ DATABASE_URL: url, DATABASE_PATH: path });
    try {
      for (const t of ['order_events', 'outbox']) {
        expect(await sqlNumber(db, `SELECT min(id) FROM ${t} WHERE order_id = ?`, fresh)).toBeGreaterThan(
          await sqlNumber(db, `SELECT max(id) FROM ${t} WHERE order_id <> ?`, fresh),
        );
      }
    } finally {
      await closeDatabase(db);
    }
    expect(await service.kill('SIGTERM')).toBe(0);
    service = undefined;
  }, 180_000);

  it('copies every table of both schemas, each after the tables it references', () => {
    const names = COPIED_TABLES.map((pair) => getTableName(pair.target));
    const all = [serviceSqlite, sandboxSqlite, operationsSqlite, webhooksSqlite, moneyBackSqlite].flatMap((m) =>
      Object.values(m).map((t) => getTableName(t)),
    );
    expect([...names].sort()).toEqual([...all].sort());
    expect(names).toEqual(TABLES);
    for (const pair of COPIED_TABLES) {
      for (const fk of getTableConfig(pair.target).foreignKeys) {
        expect(names.indexOf(getTableName(fk.reference().foreignTable))).toBeLessThan(names.indexOf(getTableName(pair.target)));
      }
    }
  });

  it('copies in batches with every value as it was, and says what it copied', async () => {
    const path = join(dir, 'orders.db');
    const url = await testDatabaseUrl();
    const source = lockSqlite(path);
    const target = await openDatabase({ url, path, poolSize: 1 });
    try {
      // Two rows a batch: every table of more than two rows takes several.
      const copies = await copyToPostgres(source.db, target, { batchRows: 2 });
      expect(copies.every((c) => c.sqlite === c.postgres)).toBe(true);
      expect(copies.find((c) => c.table === 'order_events')!.postgres).toBeGreaterThan(4);
      const columns = 'id, order_id AS "orderId", type, from_status AS "fromStatus", to_status AS "toStatus", at, data';
      const sqliteEvents = (
        source.db.all(sql.raw(`SELECT ${columns} FROM order_events ORDER BY id`)) as Record<string, unknown>[]
      ).map((e) => ({ ...e, data: e.data === null ? null : JSON.parse(e.data as string) }));
      expect(await sqlRows(target, `SELECT ${columns} FROM order_events ORDER BY id`)).toEqual(sqliteEvents);
    } finally {
      source.release();
      await closeDatabase(target);
    }

    const text = await runCli(['copy-to-postgres', '--to', await testDatabaseUrl()], { DATABASE_PATH: path });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^copied \d+ rows from .*orders\.db to postgres:\/\/.*; every table's count checked\n/);
    expect(text.stdout).toMatch(/\nTABLE +SQLITE +POSTGRESQL\nproducts +5 +5\n/);
    expect(text.stdout).toMatch(
      /\nthe copy has a new identity: start the service with DATABASE_URL=postgres:\/\/.* and a QUEUE_PREFIX of its own\n$/,
    );
  });

  it('writes nothing when PostgreSQL refuses a row part-way through', async () => {
    const path = join(dir, 'bad.db');
    copyFileSync(join(dir, 'orders.db'), path);
    // A value SQLite keeps but PostgreSQL's CHECK refuses, in the next-to-last table copied.
    const sqlite = new Database(path);
    sqlite.prepare("UPDATE sandbox_shipments SET status = 'lost'").run();
    sqlite.close();
    const url = await testDatabaseUrl();
    const run = await runCli(['copy-to-postgres', '--to', url], { DATABASE_PATH: path });
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toMatch(/^orders: the copy failed and wrote nothing: .*sandbox_shipments_status_known.*\n$/);
    expect(Object.values(await postgresCounts(url, path)).every((n) => n === 0)).toBe(true);
  });

  it('gives one line for a database it cannot reach, and refuses a URL that is not PostgreSQL', async () => {
    const path = join(dir, 'orders.db');
    const deadPort = await freePort();
    const away = await runCli(['copy-to-postgres', '--to', `postgres://copy:secret@127.0.0.1:${deadPort}/orders`], {
      DATABASE_PATH: path,
    });
    expect(away).toMatchObject({ code: 1, stdout: '' });
    expect(away.stderr).toMatch(
      new RegExp(
        `^orders: cannot open the PostgreSQL database at postgres://copy:\\*\\*\\*@127.0.0.1:${deadPort}/orders: .*ECONNREFUSED.*\\n$`,
      ),
    );
    const notPostgres = await runCli(['copy-to-postgres', '--to', 'mysql://127.0.0.1/orders'], { DATABASE_PATH: path });
    expect(notPostgres.code).toBe(2);
    expect(notPostgres.stderr).toContain("option '--to <url>' argument 'mysql://127.0.0.1/orders' is invalid");
  });
});
