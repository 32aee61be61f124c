/**
 * Builds the real service for a test: its own SQLite file and queue prefix on the run's private
 * Redis, the API on a real port, and workers for the services the test asks for (all of them by
 * default), so that a test can hold an order in a chosen state by leaving a service stopped.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Db } from '../../src/db/client.ts';
import type { Carrier, PaymentGateway } from '../../src/domain/ports.ts';
import type { RedrivenOrder } from '../../src/db/reconcile.ts';
import { createLogger } from '../../src/logger.ts';
import type { Workers } from '../../src/processors/workers.ts';
import { createWorkerConnection } from '../../src/queues/connection.ts';
import { QUEUE_NAMES, type QueueName } from '../../src/queues/routing.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { createReconciler, startServiceWorkers } from '../../src/service-workers.ts';
import { signBody } from '../../src/api/webhooks.ts';
import { OrdersClient } from '../../src/cli/http-client.ts';
import { waitUntilSettled } from './settle.ts';
import { sqlNumber, storeEnv } from './store.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789';
/** The storefront key every test sends to the client routes unless it says otherwise. */
export const API_KEY = 'test-api-key-0123456789abcdef';
/** A second storefront's key, valid beside the first. */
export const OTHER_API_KEY = 'test-other-storefront-key-0123';
export const API_KEYS = `${API_KEY},${OTHER_API_KEY}`;

export interface HarnessOptions {
  /** Services to run workers for at start; [] starts none. */
  queues?: readonly QueueName[];
  env?: Record<string, string>;
  redisUrl?: string;
  /** The API's clock, for a test about time (see ManualClock). */
  now?: () => number;
}

/** A clock that moves only when told, so that a test about time does not race the machine. */
export class ManualClock {
  private at = Date.now();
  readonly now = () => this.at;
  advance(ms: number): void {
    this.at += ms;
  }
}

export interface OrderJson {
  id: string;
  status: string;
  paymentStatus?: string;
  payment: { status: string };
  shipment: { trackingNumber: string } | null;
  reason: string | null;
  totalCents: number;
  items: { sku: string; quantity: number; unitPriceCents: number }[];
  [key: string]: unknown;
}

export const ADDRESS = { name: 'Ada Lovelace', line1: '12 Analytical Row', city: 'London', postalCode: 'N1 9GU', country: 'GB' };

export function orderBody(token = 'tok_visa', items = [{ sku: 'SKU-1', quantity: 1 }], customerId = 'cus_1') {
  return { customerId, items, payment: { token }, shippingAddress: ADDRESS };
}

const WRITTEN_TABLES = [
  'orders',
  'order_items',
  'order_events',
  'outbox',
  'idempotency_keys',
  'products',
  'refunds',
  'returns',
  'return_items',
] as const;

export async function rowCounts(db: Db): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of WRITTEN_TABLES) counts[table] = await sqlNumber(db, `SELECT count(*) AS n FROM ${table}`);
  return counts;
}

export class Harness {
  readonly base: string;
  private readonly client: OrdersClient;
  private readonly extraWorkers: Workers[] = [];
  private readonly connections: ReturnType<typeof createWorkerConnection>[] = [];

  private constructor(
    readonly config: Config,
    readonly service: RunningService,
    readonly redisUrl: string,
    private readonly dir: string,
  ) {
    this.base = `http://127.0.0.1:${service.port}`;
    this.client = new OrdersClient(this.base, { apiKey: API_KEY, adminToken: ADMIN_TOKEN });
  }

  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const dir = mkdtempSync(join(tmpdir(), 'orders-test-'));
    const redisUrl = options.redisUrl ?? inject('redisUrl');
    const config = loadConfig({
      ...(await storeEnv(dir)),
      QUEUE_PREFIX: `t${randomBytes(6).toString('hex')}`,
      PORT: '0',
      ROLE: 'api',
      ADMIN_TOKEN,
      WEBHOOK_SECRET,
      API_KEYS,
      JOB_BACKOFF_MS: '20',
      RELAY_SWEEP_MS: '50',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...options.env,
    });
    const service = await startService(config, redisUrl, createLogger(config.logLevel), options.now ? { now: options.now } : {});
    const harness = new Harness(config, service, redisUrl, dir);
    const queues = options.queues ?? QUEUE_NAMES;
    if (queues.length > 0) harness.startWorkers(queues);
    return harness;
  }

  get db(): Db {
    return this.service.db;
  }

  /** Starts workers for more services, as a separate worker process would. */
  startWorkers(queues: readonly QueueName[], providers: { gateway?: PaymentGateway; carrier?: Carrier } = {}): Workers {
    const connection = createWorkerConnection(this.redisUrl);
    connection.on('error', () => {});
    this.connections.push(connection);
    const { db, relay, metrics } = this.service;
    const workers = startServiceWorkers(
      this.config,
      { db, connection, relay, metrics, logger: createLogger(this.config.logLevel) },
      { queues, ...providers },
    );
    this.extraWorkers.push(workers);
    return workers;
  }

  /** One reconciler pass, as a worker process runs one every RECONCILE_INTERVAL_MS. */
  reconcile(): Promise<RedrivenOrder[]> {
    const { db, queues, relay } = this.service;
    return createReconciler(this.config, { db, queues, relay, logger: createLogger('silent') }).runOnce();
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.extraWorkers.map((w) => w.close()));
    await this.service.stop();
    await Promise.allSettled(this.connections.map((c) => c.quit()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ---- HTTP ----

  /**
   * A request to the service. On the client routes (/orders…) it carries API_KEY, unless
   * `headers` has an `authorization` of its own.
   */
  request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    return this.client.request(method, path, body, headers);
  }

  admin(method: string, path: string, body?: unknown) {
    return this.client.admin(method, path, body);
  }

  async putProduct(sku: string, stock: number, priceCents = 1_000, name = `Product ${sku}`) {
    const res = await this.client.putProduct({ sku, name, priceCents, stock });
    if (res.status >= 300) throw new Error(`PUT product failed: ${res.status} ${res.text}`);
    return res.json;
  }

  async placeOrder(body: unknown = orderBody(), headers: Record<string, string> = {}): Promise<OrderJson> {
    const res = await this.client.placeOrder(body, headers);
    if (res.status !== 201) throw new Error(`POST /orders failed: ${res.status} ${res.text}`);
    return res.json;
  }

  async getOrder(id: string): Promise<OrderJson> {
    const res = await this.request('GET', `/orders/${id}`);
    if (res.status !== 200) throw new Error(`GET /orders/${id}: ${res.status} ${res.text}`);
    return res.json;
  }

  async events(id: string): Promise<{ type: string; from: string | null; to: string; at: string; data: unknown }[]> {
    return (await this.request('GET', `/orders/${id}/events`)).json.events;
  }

  async deliver(trackingNumber: string, secret = WEBHOOK_SECRET) {
    const raw = JSON.stringify({ trackingNumber, status: 'delivered' });
    return this.request('POST', '/webhooks/carrier', raw, { 'x-signature': signBody(raw, secret) });
  }

  /** Row counts of every table a request could write, to show that a refused one wrote nothing. */
  rowCounts(): Promise<Record<string, number>> {
    return rowCounts(this.db);
  }

  // ---- Waiting ----

  /** Polls the order until `done` holds; fails with the last state seen. */
  async waitForOrder(id: string, done: (o: OrderJson) => boolean, timeoutMs = 20_000): Promise<OrderJson> {
    const deadline = Date.now() + timeoutMs;
    let last: OrderJson | undefined;
    while (Date.now() < deadline) {
      last = await this.getOrder(id);
      if (done(last)) return last;
      await sleep(20);
    }
    throw new Error(`order ${id} did not get there in ${timeoutMs} ms; last seen ${JSON.stringify(last)}`);
  }

  waitForStatus(id: string, status: string, timeoutMs?: number) {
    return this.waitForOrder(id, (o) => o.status === status, timeoutMs);
  }

  /** Waits until the outbox is drained, no job waits or runs, and every order is at rest. */
  settle(timeoutMs = 30_000): Promise<void> {
    return waitUntilSettled(this.db, Object.values(this.service.queues), { timeoutMs });
  }
}
