/**
 * `npm run bench`: starts a private redis-server and the service as real processes (gateway
 * latency 0), and reports, as medians over several rounds:
 *   - the ceiling: a bare 4-stage BullMQ chain with one SQLite transaction per stage;
 *   - end-to-end throughput, orders placed over HTTP at full speed until all are SHIPPED, with
 *     one worker process and with two, as a ratio of the ceiling;
 *   - latency at a fixed offered rate: POST /orders, and placement → SHIPPED by the timelines;
 *   - the same placement → SHIPPED latency of `tok_visa` orders when a share of the orders
 *     (`--slow-share`, 2 % by default) pay with `tok_slow`, whose gateway hangs until the payment
 *     deadline: a slow provider must not delay the other orders.
 * Every round starts from fresh processes and an empty database. A script, not a test: it
 * prints figures and passes no judgement.
 *
 * With --store postgres the service stores in PostgreSQL: a private server the benchmark starts
 * (bench/postgres.ts: fsync and synchronous_commit on), one fresh database per measurement,
 * measured against the same SQLite ceiling of the same round; `--store sqlite,postgres` measures
 * both in the same rounds. The table then also gives the server's transactions and rollbacks per
 * order (pg_stat_database), and with --pg-statements the statements per order and the costliest.
 *
 * With --baseline REV, the same measurements are taken, interleaved in the same rounds, of the
 * service as it was at git revision REV, so that an optimisation is judged against a baseline
 * measured on the same machine at the same time.
 *
 *   npm run bench -- [--rounds 3] [--orders 1500] [--rate 100] [--seconds 5] [--concurrency 32]
 *                    [--worker-concurrency N] [--slow-share 0.02] [--baseline REV] [--profile]
 *                    [--store sqlite|postgres|sqlite,postgres] [--pool-size N] [--pg-statements]
 *                    [--json results.json]
 */
import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { median, percentiles, placeOrders, type Placement } from '../src/cli/load-engine.ts';
import { startManagedRedis } from '../src/queues/managed-redis.ts';
import { runCeiling } from './ceiling.ts';
import { openServiceDb, type ServiceDb } from './measure.ts';
import {
  type BenchPostgres,
  countsAndDrop,
  type DatabaseCounts,
  DURABLE_SETTINGS,
  freshDatabase,
  startBenchPostgres,
} from './postgres.ts';
import { API_KEY, ROOT, putProduct, startBenchService, type ProfileOptions } from './processes.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    orders: { type: 'string', default: '1500' },
    warmup: { type: 'string', default: '300' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
    'worker-concurrency': { type: 'string', default: '8' },
    'slow-share': { type: 'string', default: '0.02' },
    baseline: { type: 'string' },
    profile: { type: 'boolean', default: false },
    store: { type: 'string', default: 'sqlite' },
    'pool-size': { type: 'string' },
    'pg-statements': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const ROUNDS = Number(args.rounds);
const ORDERS = Number(args.orders);
const WARMUP = Number(args.warmup);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const WORKER_CONCURRENCY = Number(args['worker-concurrency']);
const SKU = 'BENCH-1';
const VISA = [{ token: 'tok_visa', weight: 1 }];
const SLOW_SHARE = Number(args['slow-share']);
type Store = 'sqlite' | 'postgres';
const STORES = args.store.split(',').map((s) => s.trim());
for (const store of STORES)
  if (store !== 'sqlite' && store !== 'postgres') throw new Error(`--store: sqlite, postgres or sqlite,postgres, not ${store}`);
const POOL_SIZE = args['pool-size'] ? Number(args['pool-size']) : undefined;
const SLOW_MIX = [
  { token: 'tok_visa', weight: Math.round((1 - SLOW_SHARE) * 1000) },
  { token: 'tok_slow', weight: Math.round(SLOW_SHARE * 1000) },
];

const work = mkdtempSync(join(tmpdir(), 'orders-bench-'));
const profile: ProfileOptions = { dir: args.profile ? join(ROOT, 'bench', 'profiles') : undefined };
if (profile.dir) mkdirSync(profile.dir, { recursive: true });
let serviceNo = 0;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

interface Variant {
  name: string;
  root: string;
  store: Store;
}

/** The service's source at `rev`, beside this checkout's node_modules. */
function checkout(rev: string): { name: string; root: string } {
  const dir = join(work, 'baseline');
  mkdirSync(dir);
  execSync(`git archive ${rev} | tar -x -C ${dir}`, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const short = execSync(`git rev-parse --short ${rev}`, { cwd: ROOT }).toString().trim();
  return { name: `baseline ${short}`, root: dir };
}

/** True when the service at `rev` can store in PostgreSQL (it has the engine module). */
function hasPostgres(rev: string): boolean {
  try {
    execSync(`git cat-file -e ${rev}:src/db/engines/postgres.ts`, { cwd: ROOT, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

type Place = (count: number, rate?: number) => Promise<{ ids: string[]; placements: Placement[] }>;

/** A fresh service (empty database, own queue prefix), warmed up, handed to `measure`, stopped. */
interface Running {
  db: ServiceDb;
  /** Orders placed so far, warm-up included: what the server's counts are divided by. */
  placed: number;
  place: Place;
  url: string;
  children: Parameters<ServiceDb['waitShipped']>[1];
}

async function withService<T>(
  variant: Variant,
  workers: number,
  measure: (service: Running) => Promise<T>,
): Promise<{ result: T; counts: PerOrder | undefined }> {
  const dir = mkdtempSync(join(work, 'svc-'));
  const databasePath = join(dir, 'orders.db');
  const prefix = `b${++serviceNo}`;
  const databaseUrl = variant.store === 'postgres' ? await freshDatabase(postgres!, `bench_${prefix}`) : undefined;
  const service = await startBenchService({
    redisUrl,
    databasePath,
    databaseUrl,
    poolSize: POOL_SIZE,
    prefix,
    workers,
    workerConcurrency: WORKER_CONCURRENCY,
    profile,
    root: variant.root,
  });
  const db = openServiceDb({ path: databasePath, url: databaseUrl });
  const running: Running = { db, placed: 0, place: undefined as unknown as Place, url: service.url, children: service.children };
  let result: T;
  try {
    await putProduct(service.url, SKU, 100_000_000);
    const place: Place = async (count, rate) => {
      const { placements } = await placeOrders({
        url: service.url,
        count,
        concurrency: CONCURRENCY,
        rate,
        mix: VISA,
        skus: [SKU],
        apiKey: API_KEY,
      });
      const refused = placements.filter((p) => !p.id);
      if (refused.length > 0)
        throw new Error(`${refused.length} orders refused, e.g. ${refused[0]!.status} ${refused[0]!.error}`);
      running.placed += count;
      const ids = placements.map((p) => p.id!);
      await db.waitShipped(ids, service.children);
      return { ids, placements };
    };
    running.place = place;
    await place(WARMUP);
    result = await measure(running);
  } finally {
    await db.close();
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  if (!databaseUrl) return { result, counts: undefined };
  // Read once every process of the service exited: backends report their counts as they leave.
  return { result, counts: perOrder(await countsAndDrop(postgres!, `bench_${prefix}`), running) };
}

/** The server's counts per order placed; the benchmark's own reads taken out. */
interface PerOrder {
  transactions: number;
  rollbacks: number;
  statements?: number;
  top?: DatabaseCounts['top'];
}

function perOrder(counts: DatabaseCounts, running: Running): PerOrder {
  return {
    transactions: (counts.commits + counts.rollbacks - running.db.transactions) / running.placed,
    rollbacks: counts.rollbacks / running.placed,
    statements: counts.statements === undefined ? undefined : (counts.statements - running.db.transactions) / running.placed,
    top: counts.top,
  };
}

async function throughputRun(variant: Variant, workers: number) {
  return withService(variant, workers, async ({ db, place }) => db.throughput((await place(ORDERS)).ids));
}

async function latencyRun(variant: Variant) {
  const { result } = await withService(variant, 1, async ({ db, place }) => {
    const { ids, placements } = await place(RATE * SECONDS, RATE);
    return { post: percentiles(placements.map((p) => p.latencyMs)), shipped: percentiles(await db.placementToShipped(ids)) };
  });
  return result;
}

/** Placement → SHIPPED of the `tok_visa` orders, at RATE/s, with SLOW_SHARE of the orders hanging at the gateway. */
async function slowProviderRun(variant: Variant) {
  const { result } = await withService(variant, 1, async ({ db, url, children }) => {
    const { placements } = await placeOrders({
      url,
      count: RATE * SECONDS,
      concurrency: CONCURRENCY,
      rate: RATE,
      mix: SLOW_MIX,
      skus: [SKU],
      apiKey: API_KEY,
    });
    const refused = placements.filter((p) => !p.id);
    if (refused.length > 0) throw new Error(`${refused.length} orders refused, e.g. ${refused[0]!.status} ${refused[0]!.error}`);
    const visa = await db.paidWith(
      placements.map((p) => p.id!),
      'tok_visa',
    );
    await db.waitShipped(visa, children);
    return percentiles(await db.placementToShipped(visa));
  });
  return result;
}

async function ceilingRun(): Promise<number> {
  const dir = mkdtempSync(join(work, 'ceiling-'));
  try {
    const run = await runCeiling({
      redisUrl,
      databasePath: join(dir, 'ceiling.db'),
      prefix: `c${++serviceNo}`,
      items: ORDERS,
      warmup: WARMUP,
      concurrency: CONCURRENCY,
      workerConcurrency: WORKER_CONCURRENCY,
      profile,
    });
    return run.jobsPerSecond;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Round {
  ceiling: number;
  /** One process doing everything (ROLE=all, what `npm start` runs). */
  embedded: number;
  one: number;
  two: number;
  postP50: number;
  postP99: number;
  shippedP50: number;
  shippedP99: number;
  /** Placement → SHIPPED p99 of tok_visa orders beside SLOW_SHARE of tok_slow ones. */
  slowShareP99: number;
  /** PostgreSQL: the server's transactions and rollbacks per order in the API + 1 worker run. */
  txPerOrder: number;
  rollbacksPerOrder: number;
  statementsPerOrder: number;
}

const redis = await startManagedRedis(join(work, 'redis'));
const redisUrl = redis.url;
const info = new Redis(redisUrl);
const redisVersion = /redis_version:(\S+)/.exec(await info.info('server'))?.[1] ?? '?';
await info.quit();
if (args.baseline && STORES.includes('postgres') && !hasPostgres(args.baseline)) {
  await redis.stop();
  rmSync(work, { recursive: true, force: true });
  log(`--baseline ${args.baseline} predates PostgreSQL support (no src/db/engines/postgres.ts): compare it with --store sqlite`);
  process.exit(2);
}
const postgres: BenchPostgres | undefined = STORES.includes('postgres')
  ? await startBenchPostgres(args['pg-statements'])
  : undefined;
const machine = {
  cores: availableParallelism(),
  cpu: cpus()[0]?.model ?? '?',
  node: process.version,
  redis: redisVersion,
  postgres: postgres?.version,
  load: loadavg().map((l) => l.toFixed(1)),
};
const variants: Variant[] = [];
const baseline = args.baseline ? checkout(args.baseline) : undefined;
for (const store of STORES as Store[]) {
  const tag = STORES.length > 1 ? `, ${store}` : '';
  variants.push({ name: `this checkout${tag}`, root: ROOT, store });
  if (baseline) variants.push({ name: `${baseline.name}${tag}`, root: baseline.root, store });
}
log(
  `benchmark: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, Redis ${machine.redis}` +
    `${
      postgres
        ? `, PostgreSQL ${postgres.version} (${Object.entries(DURABLE_SETTINGS)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')})`
        : ''
    }; load average ${machine.load.join(' ')}`,
);
log(
  `${ROUNDS} rounds; ${ORDERS} orders per throughput run after ${WARMUP} to warm up; ${RATE} orders/s for ${SECONDS} s; ` +
    `${CONCURRENCY} HTTP clients; worker concurrency ${WORKER_CONCURRENCY}${POOL_SIZE ? `; DATABASE_POOL_SIZE ${POOL_SIZE}` : ''}` +
    `; store ${STORES.join(' and ')}${baseline ? `; against ${baseline.name}` : ''}`,
);

const rounds: Round[][] = variants.map(() => []);
const started = Date.now();
try {
  for (let r = 1; r <= ROUNDS; r++) {
    const ceiling = await ceilingRun();
    for (const [v, variant] of variants.entries()) {
      const embedded = (await throughputRun(variant, 0)).result;
      const oneRun = await throughputRun(variant, 1);
      const one = oneRun.result;
      const two = (await throughputRun(variant, 2)).result;
      const latency = await latencyRun(variant);
      const slow = SLOW_SHARE > 0 ? await slowProviderRun(variant) : { p99: Number.NaN };
      const round = {
        ceiling,
        embedded,
        one,
        two,
        postP50: latency.post.p50,
        postP99: latency.post.p99,
        shippedP50: latency.shipped.p50,
        shippedP99: latency.shipped.p99,
        slowShareP99: slow.p99,
        txPerOrder: oneRun.counts?.transactions ?? Number.NaN,
        rollbacksPerOrder: oneRun.counts?.rollbacks ?? Number.NaN,
        statementsPerOrder: oneRun.counts?.statements ?? Number.NaN,
      };
      if (oneRun.counts?.top)
        log(
          `  costliest statements (API + 1 worker):\n${oneRun.counts.top.map((t) => `    ${t.totalMs.toFixed(0)} ms, ${t.calls} calls: ${t.query.replace(/\s+/g, ' ').slice(0, 140)}`).join('\n')}`,
        );
      rounds[v]!.push(round);
      log(
        `round ${r}, ${variant.name}: ceiling ${ceiling.toFixed(0)}/s, one process ${embedded.toFixed(0)}/s, 1 worker ${one.toFixed(0)}/s, 2 workers ${two.toFixed(0)}/s, ` +
          `at ${RATE}/s POST p99 ${round.postP99.toFixed(1)} ms, placement→SHIPPED p99 ${round.shippedP99} ms, ` +
          `with ${SLOW_SHARE * 100}% tok_slow ${round.slowShareP99} ms` +
          (variant.store === 'postgres'
            ? `; per order ${round.txPerOrder.toFixed(1)} transactions, ${round.rollbacksPerOrder.toFixed(2)} rollbacks` +
              (Number.isNaN(round.statementsPerOrder) ? '' : `, ${round.statementsPerOrder.toFixed(1)} statements`)
            : ''),
      );
    }
  }
} finally {
  await postgres?.server.stop();
  await redis.stop();
  rmSync(work, { recursive: true, force: true });
}

function summarise(of: Round[]) {
  const m = (pick: (r: Round) => number) => median(of.map(pick));
  return {
    ceilingChainsPerSecond: m((r) => r.ceiling),
    embeddedOrdersPerSecond: m((r) => r.embedded),
    embeddedRatioToCeiling: m((r) => r.embedded / r.ceiling),
    oneWorkerOrdersPerSecond: m((r) => r.one),
    twoWorkersOrdersPerSecond: m((r) => r.two),
    ratioToCeiling: m((r) => r.one / r.ceiling),
    twoWorkersRatioToCeiling: m((r) => r.two / r.ceiling),
    scaleOut: m((r) => r.two / r.one),
    postP50Ms: m((r) => r.postP50),
    postP99Ms: m((r) => r.postP99),
    shippedP50Ms: m((r) => r.shippedP50),
    shippedP99Ms: m((r) => r.shippedP99),
    slowShareShippedP99Ms: m((r) => r.slowShareP99),
    transactionsPerOrder: m((r) => r.txPerOrder),
    rollbacksPerOrder: m((r) => r.rollbacksPerOrder),
    statementsPerOrder: m((r) => r.statementsPerOrder),
  };
}

const summaries = variants.map((v, i) => ({ variant: v.name, ...summarise(rounds[i]!), rounds: rounds[i]! }));
const results = {
  machine,
  settings: {
    rounds: ROUNDS,
    orders: ORDERS,
    warmup: WARMUP,
    rate: RATE,
    seconds: SECONDS,
    concurrency: CONCURRENCY,
    workerConcurrency: WORKER_CONCURRENCY,
    stores: STORES,
    poolSize: POOL_SIZE,
  },
  seconds: Math.round((Date.now() - started) / 1_000),
  variants: summaries,
  // Per round, this checkout over the baseline: the machine's noise hits both alike.
  vsBaseline: baseline
    ? {
        embedded: median(rounds[0]!.map((r, i) => r.embedded / rounds[1]![i]!.embedded)),
        oneWorker: median(rounds[0]!.map((r, i) => r.one / rounds[1]![i]!.one)),
        twoWorkers: median(rounds[0]!.map((r, i) => r.two / rounds[1]![i]!.two)),
        shippedP99: median(rounds[0]!.map((r, i) => r.shippedP99 / rounds[1]![i]!.shippedP99)),
        slowShareShippedP99: median(rounds[0]!.map((r, i) => r.slowShareP99 / rounds[1]![i]!.slowShareP99)),
      }
    : undefined,
};

const f = (n: number, digits = 0) => n.toFixed(digits);
const each = (of: Round[], pick: (r: Round) => number, digits = 0) => of.map((r) => f(pick(r), digits)).join(' / ');
const table: string[][] = [['measurement', 'median', 'each round', 'vs ceiling']];
table.push([
  'ceiling: bare 4-stage BullMQ chain on SQLite, 1 worker process',
  `${f(summaries[0]!.ceilingChainsPerSecond)} chains/s`,
  each(rounds[0]!, (r) => r.ceiling),
  '1.00×',
]);
for (const [i, s] of summaries.entries()) {
  const of = rounds[i]!;
  const tag = variants.length > 1 ? ` [${s.variant}]` : STORES[0] === 'postgres' ? ' [PostgreSQL]' : '';
  table.push(
    [
      `throughput, one process, ROLE=all (HTTP → SHIPPED)${tag}`,
      `${f(s.embeddedOrdersPerSecond)} orders/s`,
      each(of, (r) => r.embedded),
      `${f(s.embeddedRatioToCeiling, 2)}×`,
    ],
    [
      `throughput, API + 1 worker process${tag}`,
      `${f(s.oneWorkerOrdersPerSecond)} orders/s`,
      each(of, (r) => r.one),
      `${f(s.ratioToCeiling, 2)}×`,
    ],
    [
      `throughput, API + 2 worker processes${tag}`,
      `${f(s.twoWorkersOrdersPerSecond)} orders/s`,
      each(of, (r) => r.two),
      `${f(s.twoWorkersRatioToCeiling, 2)}×`,
    ],
    [`scale-out, 2 workers / 1${tag}`, `${f(s.scaleOut, 2)}×`, each(of, (r) => r.two / r.one, 2), ''],
    [
      `POST /orders p50 / p99 at ${RATE}/s${tag}`,
      `${f(s.postP50Ms, 1)} / ${f(s.postP99Ms, 1)} ms`,
      each(of, (r) => r.postP99, 1),
      '',
    ],
    [
      `placement → SHIPPED p50 / p99 at ${RATE}/s${tag}`,
      `${f(s.shippedP50Ms)} / ${f(s.shippedP99Ms)} ms`,
      each(of, (r) => r.shippedP99),
      '',
    ],
  );
  if (SLOW_SHARE > 0)
    table.push([
      `tok_visa placement → SHIPPED p99 at ${RATE}/s, ${SLOW_SHARE * 100}% tok_slow${tag}`,
      `${f(s.slowShareShippedP99Ms)} ms`,
      each(of, (r) => r.slowShareP99),
      '',
    ]);
  if (variants[i]!.store === 'postgres')
    table.push([
      `PostgreSQL transactions / rollbacks${Number.isNaN(s.statementsPerOrder) ? '' : ' / statements'} per order (API + 1 worker)${tag}`,
      `${f(s.transactionsPerOrder, 1)} / ${f(s.rollbacksPerOrder, 2)}${Number.isNaN(s.statementsPerOrder) ? '' : ` / ${f(s.statementsPerOrder, 1)}`}`,
      each(of, (r) => r.rollbacksPerOrder, 2),
      '',
    ]);
}
const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
const line = (cells: string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
console.log(
  `\n${machine.cores} cores, ${machine.cpu}, Node ${machine.node}, Redis ${machine.redis}${postgres ? `, PostgreSQL ${postgres.version}` : ''}; ` +
    `load average at start ${machine.load.join(' ')}, at end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; medians of ${ROUNDS} rounds (p99 columns list each round's p99); ${results.seconds} s\n`,
);
console.log(line(table[0]!));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of table.slice(1)) console.log(line(row));
if (results.vsBaseline) {
  const v = results.vsBaseline;
  console.log(
    `\n${variants[0]!.name} / ${variants[1]!.name}, median of per-round ratios: one process ${f(v.embedded, 2)}×, 1 worker ${f(v.oneWorker, 2)}×, 2 workers ${f(v.twoWorkers, 2)}×, placement → SHIPPED p99 ${f(v.shippedP99, 2)}×, with tok_slow ${f(v.slowShareShippedP99, 2)}×`,
  );
}
if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
if (profile.dir)
  log(`\nCPU profiles in ${profile.dir} (open in Chrome DevTools or speedscope; or npx tsx bench/profile-summary.ts FILE)`);
