/**
 * Measurements taken from the service's own database, read beside it (WAL lets a reader in
 * without holding anyone up): when the orders shipped, and how long each took, by the order's
 * own timeline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { Child } from './processes.ts';

export class ServiceDb {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path, { readonly: true });
    this.db.pragma('busy_timeout = 10000');
  }

  close(): void {
    this.db.close();
  }

  /** Waits until every order in `ids` is SHIPPED. */
  async waitShipped(ids: readonly string[], children: Child[], timeoutMs = 180_000): Promise<void> {
    const count = this.db.prepare(
      "SELECT count(*) AS n FROM orders WHERE id IN (SELECT value FROM json_each(?)) AND status = 'SHIPPED'",
    );
    const list = JSON.stringify(ids);
    const deadline = Date.now() + timeoutMs;
    while ((count.get(list) as { n: number }).n < ids.length) {
      const dead = children.find((c) => c.process.exitCode !== null);
      if (dead) throw new Error(`${dead.name} exited with ${dead.process.exitCode}: ${dead.output()}`);
      if (Date.now() > deadline) throw new Error(`orders not all SHIPPED after ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  /** Those of `ids` whose payment token is `token`. */
  paidWith(ids: readonly string[], token: string): string[] {
    const rows = this.db
      .prepare('SELECT id FROM orders WHERE id IN (SELECT value FROM json_each(?)) AND payment_token = ?')
      .all(JSON.stringify(ids), token) as { id: string }[];
    return rows.map((r) => r.id);
  }

  /** Orders per second from the first placement to the last shipment, by the timelines. */
  throughput(ids: readonly string[]): number {
    const span = this.db
      .prepare(
        `SELECT min(CASE WHEN type = 'OrderPlaced' THEN at END) AS start, max(CASE WHEN type = 'ShipmentCreated' THEN at END) AS end
         FROM order_events WHERE order_id IN (SELECT value FROM json_each(?))`,
      )
      .get(JSON.stringify(ids)) as { start: number; end: number };
    return ids.length / ((span.end - span.start) / 1_000);
  }

  /** For each order, ms from OrderPlaced to ShipmentCreated on its timeline. */
  placementToShipped(ids: readonly string[]): number[] {
    const rows = this.db
      .prepare(
        `SELECT max(CASE WHEN type = 'ShipmentCreated' THEN at END) - min(CASE WHEN type = 'OrderPlaced' THEN at END) AS ms
         FROM order_events WHERE order_id IN (SELECT value FROM json_each(?)) GROUP BY order_id`,
      )
      .all(JSON.stringify(ids)) as { ms: number }[];
    return rows.map((r) => r.ms);
  }
}
