/**
 * Which pooled PostgreSQL client the service should use through drizzle: node-postgres (`pg`
 * with its Pool) or postgres.js (`postgres`), chosen on measurement.
 *
 * On a throwaway database (created here, dropped at the end) it measures, for each client, pool
 * size (4, 10, 20) and number of concurrent async flows (16, 64):
 *   - the service's typical write transaction: SERIALIZABLE; SELECT an order FOR UPDATE by its
 *     text key; UPDATE it; INSERT a timeline row and an outbox row (bigint identity ids, RETURNING
 *     id); COMMIT — retried on SQLSTATE 40001/40P01, retries counted. Each flow works on its own
 *     orders; one transaction in 20 also takes one unit of a single hot product by conditional
 *     update (available = available - 1 WHERE available >= 1);
 *   - the same transaction with every statement run as a named prepared statement;
 *   - a single-row read by primary key outside a transaction, built per call and prepared once.
 * Figures are medians of the rounds after a warm-up round, as ratios against node-postgres with a
 * pool of 10 at the same concurrency. Every round visits every configuration, in a shuffled
 * order, so that drift on a shared machine falls on all of them alike. A script, not a test: it
 * prints figures, and fails only if the database's contents disagree with what was committed.
 *
 *   npx tsx bench/pg-client.ts [--url postgres://postgres@127.0.0.1:5432/postgres]
 *                              [--rounds 5] [--seconds 1] [--pools 4,10,20] [--flows 16,64]
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { and, eq, gte, sql } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { bigint, integer, jsonb, type PgDatabase, type PgQueryResultHKT, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgresJs } from 'drizzle-orm/postgres-js';
import pg from 'pg';
import postgres from 'postgres';

const orders = pgTable('orders', {
  id: text('id').primaryKey(),
  status: text('status').notNull(),
  version: integer('version').notNull(),
  totalCents: integer('total_cents').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

const orderTimeline = pgTable('order_timeline', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  orderId: text('order_id').notNull(),
  event: text('event').notNull(),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
});

const outbox = pgTable('outbox', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  orderId: text('order_id').notNull(),
  topic: text('topic').notNull(),
  payload: jsonb('payload').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

const products = pgTable('products', {
  id: text('id').primaryKey(),
  available: integer('available').notNull(),
});

/** The same tables as DDL: the bench writes no migration of its own. */
const DDL = `
  CREATE TABLE orders (id text PRIMARY KEY, status text NOT NULL, version integer NOT NULL,
    total_cents integer NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE order_timeline (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id text NOT NULL, event text NOT NULL, at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE outbox (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, order_id text NOT NULL,
    topic text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE products (id text PRIMARY KEY, available integer NOT NULL);
`;

const HOT_PRODUCT = 'sku-hot';
const HOT_STOCK = 1_000_000_000;
const ORDERS_PER_FLOW = 8;
const HOT_EVERY = 20; // one transaction in 20 also takes the hot product
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 50;

type Db = PgDatabase<PgQueryResultHKT, Record<string, never>>;
type ClientName = 'node-postgres' | 'postgres.js';

/** One pooled client behind drizzle, and how to close it. */
interface Subject {
  db: Db;
  close(): Promise<void>;
}

/** Opens `client` with a pool of `max` connections, as the service would. */
function open(client: ClientName, url: string, max: number): Subject {
  if (client === 'node-postgres') {
    const pool = new pg.Pool({ connectionString: url, max });
    // An idle client that loses its connection is reported here; without a listener it would
    // crash the process.
    pool.on('error', (error) => console.error(`pg pool: ${error.message}`));
    return { db: drizzleNodePg({ client: pool }) as unknown as Db, close: () => pool.end() };
  }
  const sqlClient = postgres(url, { max, onnotice: () => {} });
  return { db: drizzlePostgresJs({ client: sqlClient }) as unknown as Db, close: () => sqlClient.end({ timeout: 5 }) };
}

/** Where a driver error's SQLSTATE was found: on the error itself, or on drizzle's wrapper's cause. */
interface Tally {
  committed: number;
  hotTaken: number;
  retries: number;
  codeOnError: number;
  codeOnCause: number;
}

function newTally(): Tally {
  return { committed: 0, hotTaken: 0, retries: 0, codeOnError: 0, codeOnCause: 0 };
}

/**
 * The SQLSTATE of a failure. drizzle wraps a failed statement in a DrizzleQueryError whose
 * `cause` is the driver's error; a COMMIT that postgres.js issues itself is not wrapped.
 */
function sqlState(error: unknown, tally: Tally): string | undefined {
  const direct = (error as { code?: unknown }).code;
  if (typeof direct === 'string' && /^[0-9A-Z]{5}$/.test(direct)) {
    tally.codeOnError++;
    return direct;
  }
  const cause = (error as { cause?: { code?: unknown } }).cause?.code;
  if (typeof cause === 'string') {
    tally.codeOnCause++;
    return cause;
  }
  return undefined;
}

function orderId(flow: number, k: number): string {
  return `ord-${String(flow).padStart(3, '0')}-${k}`;
}

/** A query-builder statement that can also be run as a named prepared statement. */
interface Preparable<T> extends PromiseLike<T> {
  prepare(name: string): { execute(): Promise<T> };
}

/**
 * Runs `query` as it is, or prepared under `name`: drizzle's postgres-js driver asks postgres.js
 * for a prepared statement only when the query is prepared by name.
 */
function run<T>(query: Preparable<T>, name: string, prepared: boolean): PromiseLike<T> {
  return prepared ? query.prepare(name).execute() : query;
}

/** The write transaction, retried on a serialization failure or a deadlock. */
async function advanceOrder(db: Db, id: string, takeHot: boolean, prepared: boolean, tally: Tally): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const took = await db.transaction(
        async (tx) => {
          const [order] = await run(
            tx.select().from(orders).where(eq(orders.id, id)).for('update'),
            'order_for_update',
            prepared,
          );
          if (!order) throw new Error(`order ${id} is missing`);
          const version = order.version + 1;
          await run(
            tx
              .update(orders)
              .set({ status: version % 2 ? 'PAID' : 'RESERVED', version, updatedAt: sql`now()` })
              .where(eq(orders.id, id)),
            'order_update',
            prepared,
          );
          let took = false;
          if (takeHot) {
            const rows = await run(
              tx
                .update(products)
                .set({ available: sql`${products.available} - 1` })
                .where(and(eq(products.id, HOT_PRODUCT), gte(products.available, 1)))
                .returning({ available: products.available }),
              'product_take',
              prepared,
            );
            took = rows.length === 1;
          }
          const [event] = await run(
            tx.insert(orderTimeline).values({ orderId: id, event: 'PaymentSucceeded' }).returning({ id: orderTimeline.id }),
            'timeline_insert',
            prepared,
          );
          if (typeof event?.id !== 'number') throw new Error('timeline id is not a number');
          await run(
            tx
              .insert(outbox)
              .values({ orderId: id, topic: 'order.paid', payload: { orderId: id, version } })
              .returning({ id: outbox.id }),
            'outbox_insert',
            prepared,
          );
          return took;
        },
        { isolationLevel: 'serializable' },
      );
      tally.committed++;
      if (took) tally.hotTaken++;
      return;
    } catch (error) {
      const code = sqlState(error, tally);
      if (!code || !RETRYABLE.has(code) || attempt >= MAX_ATTEMPTS) throw error;
      tally.retries++;
    }
  }
}

/** Runs `flows` async loops of `op` for `seconds`; returns operations per second. */
async function runFor(seconds: number, flows: number, op: (flow: number, i: number) => Promise<void>): Promise<number> {
  const start = performance.now();
  const end = start + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: flows }, async (_, flow) => {
      for (let i = 0; performance.now() < end; i++) {
        await op(flow, i);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

interface Config {
  client: ClientName;
  pool: number;
  flows: number;
}

interface Sample {
  writes: number;
  retries: number;
  preparedWrites: number;
  reads: number;
  preparedReads: number;
}

/** One round of one configuration: a fresh pool, a short fill, then the four measures. */
async function measure(url: string, config: Config, seconds: number, tally: Tally): Promise<Sample> {
  const subject = open(config.client, url, config.pool);
  try {
    const { db } = subject;
    const writer = (prepared: boolean) => (flow: number, i: number) =>
      advanceOrder(db, orderId(flow, i % ORDERS_PER_FLOW), (i + flow) % HOT_EVERY === 0, prepared, tally);
    await runFor(0.3, config.flows, writer(false)); // opens the pool's connections
    const retriesBefore = tally.retries;
    const committedBefore = tally.committed;
    const writes = await runFor(seconds, config.flows, writer(false));
    const retries = tally.retries - retriesBefore;
    const committed = tally.committed - committedBefore;
    const preparedWrites = await runFor(seconds, config.flows, writer(true));

    const anyOrder = (flow: number, i: number) => orderId((flow * 7 + i) % 64, (i * 3) % ORDERS_PER_FLOW);
    const reads = await runFor(seconds, config.flows, async (flow, i) => {
      const [row] = await db
        .select()
        .from(orders)
        .where(eq(orders.id, anyOrder(flow, i)));
      if (!row) throw new Error('read found no order');
    });
    const byId = db
      .select()
      .from(orders)
      .where(eq(orders.id, sql.placeholder('id')))
      .prepare('order_by_id');
    const preparedReads = await runFor(seconds, config.flows, async (flow, i) => {
      const [row] = await byId.execute({ id: anyOrder(flow, i) });
      if (!row) throw new Error('read found no order');
    });
    return { writes, retries: committed ? (retries / committed) * 1000 : 0, preparedWrites, reads, preparedReads };
  } finally {
    await subject.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A deterministic shuffle, so that runs are comparable. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** What each client hands back for int8 through drizzle's `execute`, and in which shape. */
async function describeResults(url: string): Promise<void> {
  for (const client of ['node-postgres', 'postgres.js'] as const) {
    const subject = open(client, url, 1);
    try {
      const result = await subject.db.execute(sql`select count(*) as n, 9007199254740993::int8 as big`);
      const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Record<string, unknown>[];
      const row = rows[0] ?? {};
      console.log(
        `${client}: db.execute returns ${Array.isArray(result) ? 'an array of rows' : 'a result object with .rows'};` +
          ` int8 comes back as ${typeof row.n} (${String(row.big)})`,
      );
      try {
        await subject.db.insert(products).values({ id: HOT_PRODUCT, available: 1 });
      } catch (error) {
        const e = error as { code?: string; cause?: { code?: string; constructor: { name: string } } };
        console.log(
          `${client}: a unique violation surfaces as ${(error as Error).constructor.name}` +
            ` with error.code=${e.code} and error.cause.code=${e.cause?.code} (${e.cause?.constructor.name})`,
        );
      }
    } finally {
      await subject.close();
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
      rounds: { type: 'string', default: '5' },
      seconds: { type: 'string', default: '1' },
      pools: { type: 'string', default: '4,10,20' },
      flows: { type: 'string', default: '16,64' },
    },
  });
  const rounds = Number(values.rounds);
  const seconds = Number(values.seconds);
  const pools = values.pools.split(',').map(Number);
  const flowCounts = values.flows.split(',').map(Number);
  const maxFlows = Math.max(64, ...flowCounts);

  const name = `pgclient_bench_${randomBytes(4).toString('hex')}`;
  const adminUrl = new URL(values.url);
  const benchUrl = new URL(values.url);
  benchUrl.pathname = `/${name}`;
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const dropOnSignal = () => {
    admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => process.exit(130));
  };
  process.once('SIGINT', dropOnSignal);
  try {
    const setup = new pg.Client({ connectionString: benchUrl.toString() });
    await setup.connect();
    await setup.query(DDL);
    const ids = Array.from({ length: maxFlows * ORDERS_PER_FLOW }, (_, n) =>
      orderId(Math.floor(n / ORDERS_PER_FLOW), n % ORDERS_PER_FLOW),
    );
    await setup.query(`INSERT INTO orders (id, status, version, total_cents) SELECT unnest($1::text[]), 'PLACED', 0, 4200`, [
      ids,
    ]);
    await setup.query('INSERT INTO products (id, available) VALUES ($1, $2)', [HOT_PRODUCT, HOT_STOCK]);
    const server = await setup.query('SHOW server_version');
    await setup.end();

    console.log(`database ${name}, PostgreSQL ${server.rows[0].server_version}, node ${process.version}`);
    await describeResults(benchUrl.toString());

    const configs: Config[] = [];
    for (const client of ['node-postgres', 'postgres.js'] as const)
      for (const pool of pools) for (const flows of flowCounts) configs.push({ client, pool, flows });
    const key = (c: Config) => `${c.client}|${c.pool}|${c.flows}`;
    const samples = new Map<string, Sample[]>(configs.map((c) => [key(c), []]));
    const tallies = new Map<ClientName, Tally>([
      ['node-postgres', newTally()],
      ['postgres.js', newTally()],
    ]);

    for (let round = 0; round <= rounds; round++) {
      const started = performance.now();
      for (const config of shuffled(configs, round + 1)) {
        const sample = await measure(benchUrl.toString(), config, seconds, tallies.get(config.client) as Tally);
        if (round > 0) samples.get(key(config))?.push(sample);
      }
      const label = round === 0 ? 'warm-up round' : `round ${round}/${rounds}`;
      console.log(`${label} done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }

    // The database must hold exactly what was committed.
    const check = new pg.Client({ connectionString: benchUrl.toString() });
    await check.connect();
    const counts = await check.query(
      `SELECT (SELECT count(*) FROM order_timeline)::int AS timeline, (SELECT count(*) FROM outbox)::int AS outbox,
              (SELECT available FROM products WHERE id = $1) AS available,
              (SELECT sum(version) FROM orders)::int AS versions`,
      [HOT_PRODUCT],
    );
    await check.end();
    const all = [...tallies.values()];
    const committed = all.reduce((s, t) => s + t.committed, 0);
    const hot = all.reduce((s, t) => s + t.hotTaken, 0);
    const got = counts.rows[0];
    const consistent =
      got.timeline === committed && got.outbox === committed && got.versions === committed && got.available === HOT_STOCK - hot;
    console.log(
      `\ncommitted ${committed} transactions (${hot} took the hot product); database holds timeline ${got.timeline},` +
        ` outbox ${got.outbox}, version sum ${got.versions}, hot stock taken ${HOT_STOCK - got.available}:` +
        ` ${consistent ? 'consistent' : 'INCONSISTENT'}`,
    );
    for (const [client, t] of tallies)
      console.log(
        `${client}: ${t.retries} retries; SQLSTATE found on the error itself ${t.codeOnError} times, on its cause ${t.codeOnCause} times`,
      );

    console.log(
      `\nmedians of ${rounds} rounds of ${seconds} s (± half the range over the rounds); ratios against node-postgres pool 10 at the same concurrency`,
    );
    const columns: [string, (x: Sample) => number][] = [
      ['tx/s', (x) => x.writes],
      ['prepared tx/s', (x) => x.preparedWrites],
      ['reads/s', (x) => x.reads],
      ['prepared reads/s', (x) => x.preparedReads],
    ];
    console.log(`| client | pool | flows | ${columns.map(([h]) => `${h} | ratio`).join(' | ')} | retries per 1000 tx |`);
    console.log(`|---|---:|---:|${columns.map(() => '---:|---:').join('|')}|---:|`);
    for (const c of configs) {
      const s = samples.get(key(c)) as Sample[];
      const base = samples.get(key({ client: 'node-postgres', pool: 10, flows: c.flows })) ?? s;
      const cells = columns.map(([, f]) => {
        const values = s.map(f);
        const value = median(values);
        const spread = ((Math.max(...values) - Math.min(...values)) / 2 / value) * 100;
        return `${value.toFixed(0)} ±${spread.toFixed(0)}% | ${(value / median(base.map(f))).toFixed(2)}`;
      });
      console.log(
        `| ${c.client} | ${c.pool} | ${c.flows} | ${cells.join(' | ')} | ${median(s.map((x) => x.retries)).toFixed(1)} |`,
      );
    }
    if (!consistent) process.exitCode = 1;
  } finally {
    process.removeListener('SIGINT', dropOnSignal);
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

await main();
