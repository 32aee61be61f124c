/**
 * The ceiling: the least a queue-driven pipeline of the same shape can do. A bare BullMQ chain of
 * four stages; each stage is a Worker that runs one database transaction updating the item's row,
 * then adds the item's job to the next stage. No outbox, no timeline, no ledgers, no state
 * machine, no HTTP. On SQLite the transaction is better-sqlite3's (WAL, synchronous NORMAL); on
 * PostgreSQL (`databaseUrl`) it is BEGIN, UPDATE, COMMIT on a pooled connection of the
 * benchmark's durable server, so that each engine is judged against its own stack's limit.
 *
 * `runCeiling` is the producer (in the benchmark's process, standing in for the API: it inserts
 * the row and adds the first job, `concurrency` at a time); the stages run in a child process,
 * `node --import tsx bench/ceiling.ts worker`, as our workers do.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { defaultJobOptions } from '../src/queues/queues.ts';
import { startNode, stopAll, waitForWorkers, type Child, type ProfileOptions } from './processes.ts';

const STAGES = 4;
const stageName = (n: number) => `stage${n}`;

function openDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  db.exec(
    'CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, stage INTEGER NOT NULL, created_at INTEGER NOT NULL, done_at INTEGER)',
  );
  return db;
}

/** The chain's table, on either engine: insert an item, advance it a stage, count and time them. */
interface ChainStore {
  insert(id: string): Promise<void>;
  advance(id: string, stage: number): Promise<void>;
  done(tag: string): Promise<number>;
  span(tag: string): Promise<{ start: number; end: number }>;
  close(): Promise<void>;
}

function sqliteStore(path: string): ChainStore {
  const db = openDb(path);
  const insert = db.prepare('INSERT INTO items (id, stage, created_at) VALUES (?, 0, ?)');
  const place = db.transaction((id: string) => insert.run(id, Date.now()));
  const update = db.prepare('UPDATE items SET stage = ?, done_at = ? WHERE id = ? AND stage = ?');
  const step = db.transaction((id: string, stage: number) => update.run(stage, Date.now(), id, stage - 1));
  const done = db.prepare('SELECT count(*) AS n FROM items WHERE id LIKE ? AND stage = ?');
  const span = db.prepare('SELECT min(created_at) AS start, max(done_at) AS end FROM items WHERE id LIKE ?');
  return {
    insert: async (id) => void place.immediate(id),
    advance: async (id, stage) => void step.immediate(id, stage),
    done: async (tag) => (done.get(`${tag}%`, STAGES) as { n: number }).n,
    span: async (tag) => span.get(`${tag}%`) as { start: number; end: number },
    close: async () => void db.close(),
  };
}

const PG_TABLE =
  'CREATE TABLE IF NOT EXISTS items (id text PRIMARY KEY, stage integer NOT NULL, created_at bigint NOT NULL, done_at bigint)';

/** The same table on PostgreSQL: a pool as big as the service's default (DATABASE_POOL_SIZE 10). */
function postgresStore(url: string): ChainStore {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => {});
  // A named statement is parsed once per connection, as the service's hot statements are.
  const transaction = async (name: string, text: string, values: unknown[]) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query({ name, text, values });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  };
  return {
    insert: (id) => transaction('insert', 'INSERT INTO items (id, stage, created_at) VALUES ($1, 0, $2)', [id, Date.now()]),
    advance: (id, stage) =>
      transaction('advance', 'UPDATE items SET stage = $1, done_at = $2 WHERE id = $3 AND stage = $4', [
        stage,
        Date.now(),
        id,
        stage - 1,
      ]),
    done: async (tag) =>
      Number(
        (await pool.query<{ n: string }>('SELECT count(*) AS n FROM items WHERE id LIKE $1 AND stage = $2', [`${tag}%`, STAGES]))
          .rows[0]!.n,
      ),
    span: async (tag) => {
      const { rows } = await pool.query<{ start: string; end: string }>(
        'SELECT min(created_at) AS start, max(done_at) AS "end" FROM items WHERE id LIKE $1',
        [`${tag}%`],
      );
      return { start: Number(rows[0]!.start), end: Number(rows[0]!.end) };
    },
    close: () => pool.end(),
  };
}

async function openStore(target: { databasePath: string; databaseUrl?: string }): Promise<ChainStore> {
  if (!target.databaseUrl) return sqliteStore(target.databasePath);
  const client = new pg.Client({ connectionString: target.databaseUrl });
  await client.connect();
  await client.query(PG_TABLE);
  await client.end();
  return postgresStore(target.databaseUrl);
}

const jobOptions = defaultJobOptions({ prefix: '', attempts: 10, backoffMs: 500 });

/** The worker process: four stages, `concurrency` jobs at a time each, like one of our workers. */
async function workerMain(): Promise<void> {
  const { REDIS_URL, QUEUE_PREFIX, DATABASE_PATH, DATABASE_URL, WORKER_CONCURRENCY } = process.env;
  const store = await openStore({ databasePath: DATABASE_PATH!, databaseUrl: DATABASE_URL || undefined });
  const producer = new Redis(REDIS_URL!, { maxRetriesPerRequest: 1 });
  const connection = new Redis(REDIS_URL!, { maxRetriesPerRequest: null });
  const next = new Map<number, Queue>();
  for (let n = 2; n <= STAGES; n++)
    next.set(n, new Queue(stageName(n), { connection: producer, prefix: QUEUE_PREFIX!, defaultJobOptions: jobOptions }));
  const workers = Array.from({ length: STAGES }, (_, i) => {
    const stage = i + 1;
    return new Worker(
      stageName(stage),
      async (job) => {
        const { id } = job.data as { id: string };
        await store.advance(id, stage);
        if (stage < STAGES) await next.get(stage + 1)!.add('step', { id }, { jobId: `${id}-${stage + 1}` });
        return 'ok';
      },
      { connection, prefix: QUEUE_PREFIX!, concurrency: Number(WORKER_CONCURRENCY) },
    );
  });
  const stop = async () => {
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all([...next.values()].map((q) => q.close()));
    await Promise.allSettled([producer.quit(), connection.quit()]);
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
}

export interface CeilingRun {
  jobsPerSecond: number;
  items: number;
}

/** Told when the measured items start and once they are all through, with the worker process. */
export interface CeilingWindow {
  start(worker: Child): void;
  end(worker: Child): void;
}

/** Starts the stage worker, pushes `warmup` then `items` items through, and measures the latter. */
export async function runCeiling(options: {
  redisUrl: string;
  databasePath: string;
  /** A PostgreSQL database to run the chain on instead of the SQLite file. */
  databaseUrl?: string;
  prefix: string;
  items: number;
  warmup: number;
  concurrency: number;
  workerConcurrency: number;
  profile: ProfileOptions;
  window?: CeilingWindow;
}): Promise<CeilingRun> {
  const store = await openStore(options);
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  const first = new Queue(stageName(1), { connection, prefix: options.prefix, defaultJobOptions: jobOptions });
  const child = startNode(
    'ceiling-worker',
    ['bench/ceiling.ts', 'worker'],
    {
      REDIS_URL: options.redisUrl,
      QUEUE_PREFIX: options.prefix,
      DATABASE_PATH: options.databasePath,
      DATABASE_URL: options.databaseUrl ?? '',
      WORKER_CONCURRENCY: String(options.workerConcurrency),
    },
    options.profile,
  );
  try {
    await waitForWorkers(options.redisUrl, options.prefix, stageName(STAGES), 1, [child]);
    const push = async (tag: string, count: number) => {
      let next = 0;
      const client = async () => {
        while (next < count) {
          const id = `${tag}${next++}`;
          await store.insert(id);
          await first.add('step', { id }, { jobId: `${id}-1` });
        }
      };
      await Promise.all(Array.from({ length: options.concurrency }, client));
      while ((await store.done(tag)) < count) {
        if (child.process.exitCode !== null) throw new Error(`ceiling worker exited: ${child.output()}`);
        await sleep(20);
      }
    };
    await push('w', options.warmup);
    options.window?.start(child);
    await push('m', options.items);
    options.window?.end(child);
    const span = await store.span('m');
    return { items: options.items, jobsPerSecond: options.items / ((span.end - span.start) / 1_000) };
  } finally {
    await stopAll([child]);
    await first.close();
    await connection.quit();
    await store.close();
  }
}

if (process.argv[2] === 'worker') await workerMain();
