/**
 * The ceiling: the least a queue-driven pipeline of the same shape can do. A bare BullMQ chain of
 * four stages; each stage is a Worker that runs one better-sqlite3 transaction (WAL, synchronous
 * NORMAL) updating the item's row, then adds the item's job to the next stage. No outbox, no
 * timeline, no ledgers, no state machine, no HTTP.
 *
 * `runCeiling` is the producer (in the benchmark's process, standing in for the API: it inserts
 * the row and adds the first job, `concurrency` at a time); the stages run in a child process,
 * `node --import tsx bench/ceiling.ts worker`, as our workers do.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { defaultJobOptions } from '../src/queues/queues.ts';
import { startNode, stopAll, waitForWorkers, type ProfileOptions } from './processes.ts';

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

const jobOptions = defaultJobOptions({ prefix: '', attempts: 10, backoffMs: 500 });

/** The worker process: four stages, `concurrency` jobs at a time each, like one of our workers. */
async function workerMain(): Promise<void> {
  const { REDIS_URL, QUEUE_PREFIX, DATABASE_PATH, WORKER_CONCURRENCY } = process.env;
  const db = openDb(DATABASE_PATH!);
  const advance = db.prepare('UPDATE items SET stage = ?, done_at = ? WHERE id = ? AND stage = ?');
  const step = db.transaction((id: string, stage: number) => advance.run(stage, Date.now(), id, stage - 1));
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
        step.immediate(id, stage);
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
    db.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
}

export interface CeilingRun {
  jobsPerSecond: number;
  items: number;
}

/** Starts the stage worker, pushes `warmup` then `items` items through, and measures the latter. */
export async function runCeiling(options: {
  redisUrl: string;
  databasePath: string;
  prefix: string;
  items: number;
  warmup: number;
  concurrency: number;
  workerConcurrency: number;
  profile: ProfileOptions;
}): Promise<CeilingRun> {
  const db = openDb(options.databasePath);
  const insert = db.prepare('INSERT INTO items (id, stage, created_at) VALUES (?, 0, ?)');
  const place = db.transaction((id: string) => insert.run(id, Date.now()));
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  const first = new Queue(stageName(1), { connection, prefix: options.prefix, defaultJobOptions: jobOptions });
  const child = startNode(
    'ceiling-worker',
    ['bench/ceiling.ts', 'worker'],
    {
      REDIS_URL: options.redisUrl,
      QUEUE_PREFIX: options.prefix,
      DATABASE_PATH: options.databasePath,
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
          place.immediate(id);
          await first.add('step', { id }, { jobId: `${id}-1` });
        }
      };
      await Promise.all(Array.from({ length: options.concurrency }, client));
      const done = db.prepare('SELECT count(*) AS n FROM items WHERE id LIKE ? AND stage = ?');
      while ((done.get(`${tag}%`, STAGES) as { n: number }).n < count) {
        if (child.process.exitCode !== null) throw new Error(`ceiling worker exited: ${child.output()}`);
        await sleep(20);
      }
    };
    await push('w', options.warmup);
    await push('m', options.items);
    const span = db.prepare("SELECT min(created_at) AS start, max(done_at) AS end FROM items WHERE id LIKE 'm%'").get() as {
      start: number;
      end: number;
    };
    return { items: options.items, jobsPerSecond: options.items / ((span.end - span.start) / 1_000) };
  } finally {
    await stopAll([child]);
    await first.close();
    await connection.quit();
    db.close();
  }
}

if (process.argv[2] === 'worker') await workerMain();
