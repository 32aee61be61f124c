/**
 * Measurements taken from the service's own database, read beside it: when the orders shipped,
 * and how long each took, by the order's own timeline. On SQLite a read-only connection to the
 * file (WAL lets a reader in without holding anyone up); on PostgreSQL a small pool of plain
 * `pg` connections. The same questions, asked in each engine's SQL. With webhook endpoints
 * subscribed, also whether every delivery was made: an order's work ends with its last delivery.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Child } from './processes.ts';

/** What the benchmark asks of a service's database. */
export interface ServiceDb {
  close(): Promise<void>;
  /** Waits until every order in `ids` is SHIPPED. */
  waitShipped(ids: readonly string[], children: Child[], timeoutMs?: number): Promise<void>;
  /**
   * Waits until every order in `ids` is SHIPPED and its customer has both messages a shipped
   * order owes (its confirmation and its shipment): the end of an order's work.
   */
  waitSettled(ids: readonly string[], children: Child[], timeoutMs?: number): Promise<void>;
  /**
   * Waits until no webhook delivery is PENDING. Call it once the orders settled: each delivery is
   * written in the transaction of the change that causes it, so by then every one owed exists.
   */
  waitDelivered(children: Child[], timeoutMs?: number): Promise<void>;
  /** Webhook deliveries of the orders in `ids`, whatever their status. */
  deliveries(ids: readonly string[]): Promise<number>;
  /** Those of `ids` whose payment token is `token`. */
  paidWith(ids: readonly string[], token: string): Promise<string[]>;
  /** Orders per second from the first placement to the last shipment, by the timelines. */
  throughput(ids: readonly string[]): Promise<number>;
  /** For each order, ms from OrderPlaced to ShipmentCreated on its timeline. */
  placementToShipped(ids: readonly string[]): Promise<number[]>;
  /** Transactions these reads ran on the server (each query is one), to subtract from the server's count. */
  readonly transactions: number;
}

/** Where the service keeps its orders: a SQLite file, or a PostgreSQL database when `url` is set. */
export function openServiceDb(target: { path: string; url?: string }): ServiceDb {
  return target.url ? new PostgresServiceDb(target.url) : new SqliteServiceDb(target.path);
}

/** A shipped order's messages: its confirmation (on reservation) and its shipment. */
const MESSAGES_PER_SHIPPED_ORDER = 2;

/** Polls `shipped` until it reaches `ids.length`, failing early if a service process died. */
async function pollShipped(ids: readonly string[], shipped: () => Promise<number>, children: Child[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while ((await shipped()) < ids.length) {
    const dead = children.find((c) => c.process.exitCode !== null);
    if (dead) throw new Error(`${dead.name} exited with ${dead.process.exitCode}: ${dead.output()}`);
    if (Date.now() > deadline) throw new Error(`orders not all SHIPPED after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Polls `pending` until it reaches 0, failing early if a service process died. */
async function pollDelivered(pending: () => Promise<number>, children: Child[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let left = await pending();
  while (left > 0) {
    const dead = children.find((c) => c.process.exitCode !== null);
    if (dead) throw new Error(`${dead.name} exited with ${dead.process.exitCode}: ${dead.output()}`);
    if (Date.now() > deadline) throw new Error(`${left} webhook deliveries still PENDING after ${timeoutMs} ms`);
    await sleep(20);
    left = await pending();
  }
}

class SqliteServiceDb implements ServiceDb {
  private readonly db: Database.Database;
  readonly transactions = 0;

  constructor(path: string) {
    this.db = new Database(path, { readonly: true });
    this.db.pragma('busy_timeout = 10000');
  }

  async close(): Promise<void> {
    this.db.close();
  }

  async waitShipped(ids: readonly string[], children: Child[], timeoutMs = 180_000): Promise<void> {
    const count = this.db.prepare(
      "SELECT count(*) AS n FROM orders WHERE id IN (SELECT value FROM json_each(?)) AND status = 'SHIPPED'",
    );
    const list = JSON.stringify(ids);
    await pollShipped(ids, async () => (count.get(list) as { n: number }).n, children, timeoutMs);
  }

  async waitSettled(ids: readonly string[], children: Child[], timeoutMs = 180_000): Promise<void> {
    await this.waitShipped(ids, children, timeoutMs);
    const sent = this.db.prepare(
      'SELECT count(*) AS n FROM sent_notifications WHERE order_id IN (SELECT value FROM json_each(?))',
    );
    const list = JSON.stringify(ids);
    await pollShipped(ids, async () => (sent.get(list) as { n: number }).n / MESSAGES_PER_SHIPPED_ORDER, children, timeoutMs);
  }

  async waitDelivered(children: Child[], timeoutMs = 180_000): Promise<void> {
    const pending = this.db.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'PENDING'");
    await pollDelivered(async () => (pending.get() as { n: number }).n, children, timeoutMs);
  }

  async deliveries(ids: readonly string[]): Promise<number> {
    const row = this.db
      .prepare('SELECT count(*) AS n FROM webhook_deliveries WHERE order_id IN (SELECT value FROM json_each(?))')
      .get(JSON.stringify(ids)) as { n: number };
    return row.n;
  }

  async paidWith(ids: readonly string[], token: string): Promise<string[]> {
    const rows = this.db
      .prepare('SELECT id FROM orders WHERE id IN (SELECT value FROM json_each(?)) AND payment_token = ?')
      .all(JSON.stringify(ids), token) as { id: string }[];
    return rows.map((r) => r.id);
  }

  async throughput(ids: readonly string[]): Promise<number> {
    const span = this.db
      .prepare(
        `SELECT min(CASE WHEN type = 'OrderPlaced' THEN at END) AS start, max(CASE WHEN type = 'ShipmentCreated' THEN at END) AS end
         FROM order_events WHERE order_id IN (SELECT value FROM json_each(?))`,
      )
      .get(JSON.stringify(ids)) as { start: number; end: number };
    return ids.length / ((span.end - span.start) / 1_000);
  }

  async placementToShipped(ids: readonly string[]): Promise<number[]> {
    const rows = this.db
      .prepare(
        `SELECT max(CASE WHEN type = 'ShipmentCreated' THEN at END) - min(CASE WHEN type = 'OrderPlaced' THEN at END) AS ms
         FROM order_events WHERE order_id IN (SELECT value FROM json_each(?)) GROUP BY order_id`,
      )
      .all(JSON.stringify(ids)) as { ms: number }[];
    return rows.map((r) => r.ms);
  }
}

class PostgresServiceDb implements ServiceDb {
  private readonly pool: pg.Pool;
  transactions = 0;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'orders-bench' });
    this.pool.on('error', () => {});
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    this.transactions++;
    return this.pool.query<R>(text, values);
  }

  async waitShipped(ids: readonly string[], children: Child[], timeoutMs = 180_000): Promise<void> {
    const shipped = async () => {
      const { rows } = await this.query<{ n: string }>(
        "SELECT count(*) AS n FROM orders WHERE id = ANY($1) AND status = 'SHIPPED'",
        [ids],
      );
      return Number(rows[0]!.n);
    };
    await pollShipped(ids, shipped, children, timeoutMs);
  }

  async waitSettled(ids: readonly string[], children: Child[], timeoutMs = 180_000): Promise<void> {
    await this.waitShipped(ids, children, timeoutMs);
    const sent = async () => {
      const { rows } = await this.query<{ n: string }>('SELECT count(*) AS n FROM sent_notifications WHERE order_id = ANY($1)', [
        ids,
      ]);
      return Number(rows[0]!.n) / MESSAGES_PER_SHIPPED_ORDER;
    };
    await pollShipped(ids, sent, children, timeoutMs);
  }

  async waitDelivered(children: Child[], timeoutMs = 180_000): Promise<void> {
    const pending = async () => {
      const { rows } = await this.query<{ n: string }>(
        "SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'PENDING'",
        [],
      );
      return Number(rows[0]!.n);
    };
    await pollDelivered(pending, children, timeoutMs);
  }

  async deliveries(ids: readonly string[]): Promise<number> {
    const { rows } = await this.query<{ n: string }>('SELECT count(*) AS n FROM webhook_deliveries WHERE order_id = ANY($1)', [
      ids,
    ]);
    return Number(rows[0]!.n);
  }

  async paidWith(ids: readonly string[], token: string): Promise<string[]> {
    const { rows } = await this.query<{ id: string }>('SELECT id FROM orders WHERE id = ANY($1) AND payment_token = $2', [
      ids,
      token,
    ]);
    return rows.map((r) => r.id);
  }

  async throughput(ids: readonly string[]): Promise<number> {
    const { rows } = await this.query<{ start: string; end: string }>(
      `SELECT min(CASE WHEN type = 'OrderPlaced' THEN at END) AS start, max(CASE WHEN type = 'ShipmentCreated' THEN at END) AS "end"
       FROM order_events WHERE order_id = ANY($1)`,
      [ids],
    );
    return ids.length / ((Number(rows[0]!.end) - Number(rows[0]!.start)) / 1_000);
  }

  async placementToShipped(ids: readonly string[]): Promise<number[]> {
    const { rows } = await this.query<{ ms: string }>(
      `SELECT max(CASE WHEN type = 'ShipmentCreated' THEN at END) - min(CASE WHEN type = 'OrderPlaced' THEN at END) AS ms
       FROM order_events WHERE order_id = ANY($1) GROUP BY order_id`,
      [ids],
    );
    return rows.map((r) => Number(r.ms));
  }
}
