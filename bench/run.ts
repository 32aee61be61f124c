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
 * With --webhooks N, the same measurements are also taken of this checkout with N webhook endpoints
 * subscribed to every event type (through the admin API, once the service is up), delivering to a
 * receiver in the benchmark's process (bench/webhook-receiver.ts). A measured window then ends
 * when no delivery is PENDING either, so that CPU per order includes delivering; the table adds
 * deliveries and receiver requests per order. The baseline is always measured without endpoints.
 *
 * Options: `npm run bench -- --help` (USAGE in bench/options.ts).
 */
import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { median, percentiles, placeOrders, type Placement } from '../src/cli/load-engine.ts';
import { startManagedRedis } from '../src/redis-server/managed-redis.ts';
import { runCeiling } from './ceiling.ts';
import { cpuCapAvailable, cpuDelta, cpuMsByGroup, ownCpuMs } from './cpu.ts';
import { openServiceDb, type ServiceDb } from './measure.ts';
import { readOptions } from './options.ts';
import {
  type BenchPostgres,
  countsAndDrop,
  type DatabaseCounts,
  DURABLE_SETTINGS,
  freshDatabase,
  startBenchPostgres,
} from './postgres.ts';
import { API_KEY, ROOT, putProduct, scrapeCounter, startBenchService, type Child, type ProfileOptions } from './processes.ts';
import { startWebhookReceiver, subscribeEndpoints, type WebhookReceiver } from './webhook-receiver.ts';

const args = readOptions();
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
/** Cores each worker process may use in the capped scale-out runs; 0 skips them. */
const CAP = Number(args.cap);
/** Webhook endpoints of the extra variant; 0: no such variant. */
const WEBHOOKS = Number(args.webhooks);
if (!Number.isInteger(WEBHOOKS) || WEBHOOKS < 0) throw new Error(`--webhooks: a whole number of endpoints, not ${args.webhooks}`);
/** How long a service process may keep its list of endpoints (WEBHOOK_ENDPOINT_CACHE_MS's default). */
const ENDPOINT_CACHE_MS = 1_000;
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
  /** Webhook endpoints subscribed to every event type once the service is up. */
  webhooks: number;
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
  children: Child[];
  metricsUrls: string[];
}

/** Counts the receiver's requests; undefined while no variant subscribes endpoints. */
let receiver: WebhookReceiver | undefined;

interface ServiceOptions {
  /** Cores each worker process is capped at (a cgroup each). */
  workerCpuCap?: number;
}

async function withService<T>(
  variant: Variant,
  workers: number,
  measure: (service: Running) => Promise<T>,
  options: ServiceOptions = {},
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
    workerCpuCap: options.workerCpuCap,
    allowPrivateWebhookTargets: variant.webhooks > 0,
  });
  const db = openServiceDb({ path: databasePath, url: databaseUrl });
  const running: Running = {
    db,
    placed: 0,
    place: undefined as unknown as Place,
    url: service.url,
    children: service.children,
    metricsUrls: service.metricsUrls,
  };
  let result: T;
  try {
    await putProduct(service.url, SKU, 100_000_000);
    if (variant.webhooks > 0) {
      await subscribeEndpoints(service.url, receiver!.url, variant.webhooks);
      // The workers read the endpoints at most this often: the warm-up's orders already deliver.
      await new Promise((resolve) => setTimeout(resolve, ENDPOINT_CACHE_MS + 200));
    }
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
      await db.waitSettled(ids, service.children);
      if (variant.webhooks > 0) await db.waitDelivered(service.children);
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
  byCalls?: DatabaseCounts['byCalls'];
}

function perOrder(counts: DatabaseCounts, running: Running): PerOrder {
  return {
    transactions: (counts.commits + counts.rollbacks - running.db.transactions) / running.placed,
    rollbacks: counts.rollbacks / running.placed,
    statements: counts.statements === undefined ? undefined : (counts.statements - running.db.transactions) / running.placed,
    top: counts.top,
    byCalls: counts.byCalls?.map((c) => ({ ...c, calls: c.calls / running.placed })),
  };
}

/** CPU milliseconds per order (or chain) over a measured window, by process group. */
interface Cost {
  /** The service's own processes (API and workers), or the ceiling's worker. */
  service: number;
  postgres: number;
  redis: number;
  /** The benchmark's process: the HTTP load generator (or the ceiling's producer) and its polling. */
  load: number;
  /** Everything but the load generator: what the system under test spent. */
  total: number;
  /** The service's share by process (api, worker1, …; `all` for the one process doing everything). */
  byProcess: Record<string, number>;
}

/** The pids of the servers every measurement shares: redis-server, and PostgreSQL's postmaster. */
function serverPids(): { redis: number[]; postgres: number[] } {
  const postmaster = postgres ? Number(readFileSync(join(postgres.server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) : 0;
  return { redis: [redis.pid], postgres: postmaster ? [postmaster] : [] };
}

/**
 * Starts a CPU reading of the service's processes (each with its children) and the shared
 * servers; `end` gives the cost per item.
 */
function costWindow(service: Child[]): { end(items: number): Cost } {
  const processes = Object.fromEntries(service.map((c) => [`process:${c.name}`, [c.process.pid!]]));
  const groups = () => ({ ...processes, ...serverPids() });
  const before = cpuMsByGroup(groups());
  const loadBefore = ownCpuMs();
  return {
    end(items) {
      const d = cpuDelta(before, cpuMsByGroup(groups()));
      const per = (ms: number) => ms / items;
      const byProcess = Object.fromEntries(service.map((c) => [c.name, per(d[`process:${c.name}`] ?? 0)]));
      const cost = {
        service: Object.values(byProcess).reduce((a, b) => a + b, 0),
        postgres: per(d.postgres ?? 0),
        redis: per(d.redis ?? 0),
        load: per(ownCpuMs() - loadBefore),
      };
      return { ...cost, total: cost.service + cost.postgres + cost.redis, byProcess };
    },
  };
}

interface Throughput {
  ordersPerSecond: number;
  cost: Cost;
  /** Write transactions the service's processes committed per order (their own count, both engines). */
  writeTxPerOrder: number;
  /** Commands Redis ran per order (INFO commandstats), the top ones by name. */
  redisCommandsPerOrder: number;
  redisTop: [string, number][];
  /** Webhook deliveries written for the measured orders, and requests the receiver answered, per order (NaN without endpoints). */
  deliveriesPerOrder: number;
  receiverRequestsPerOrder: number;
}

/** Redis's count of every command it ran so far, by name (INFO commandstats). */
async function redisCommandCounts(): Promise<Map<string, number>> {
  const client = new Redis(redisUrl);
  try {
    const text = await client.info('commandstats');
    return new Map([...text.matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  } finally {
    client.disconnect();
  }
}

async function throughputRun(variant: Variant, workers: number, options: ServiceOptions = {}) {
  return withService(
    variant,
    workers,
    async ({ db, place, children, metricsUrls }): Promise<Throughput> => {
      const commitsBefore = await scrapeCounter(metricsUrls, 'orders_db_write_transactions_total');
      const commandsBefore = await redisCommandCounts();
      const requestsBefore = receiver?.requests() ?? 0;
      const window = costWindow(children);
      const { ids } = await place(ORDERS);
      const cost = window.end(ORDERS);
      const requests = (receiver?.requests() ?? 0) - requestsBefore;
      const commandsAfter = await redisCommandCounts();
      const commits = (await scrapeCounter(metricsUrls, 'orders_db_write_transactions_total')) - commitsBefore;
      // The two INFO calls themselves are left in: two commands over the whole run.
      const commands = [...commandsAfter].map(([name, n]): [string, number] => [
        name,
        (n - (commandsBefore.get(name) ?? 0)) / ORDERS,
      ]);
      return {
        ordersPerSecond: await db.throughput(ids),
        cost,
        writeTxPerOrder: commits / ORDERS,
        redisCommandsPerOrder: commands.reduce((sum, [, n]) => sum + n, 0),
        redisTop: commands.sort((a, b) => b[1] - a[1]).slice(0, 8),
        deliveriesPerOrder: variant.webhooks > 0 ? (await db.deliveries(ids)) / ORDERS : Number.NaN,
        receiverRequestsPerOrder: variant.webhooks > 0 ? requests / ORDERS : Number.NaN,
      };
    },
    options,
  );
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

/** The bare chain on `store`: chains per second and CPU per chain. */
async function ceilingRun(store: Store): Promise<{ chainsPerSecond: number; cost: Cost }> {
  const dir = mkdtempSync(join(work, 'ceiling-'));
  const prefix = `c${++serviceNo}`;
  const databaseUrl = store === 'postgres' ? await freshDatabase(postgres!, `bench_${prefix}`) : undefined;
  let window: ReturnType<typeof costWindow> | undefined;
  let cost: Cost | undefined;
  try {
    const run = await runCeiling({
      redisUrl,
      databasePath: join(dir, 'ceiling.db'),
      databaseUrl,
      prefix,
      items: ORDERS,
      warmup: WARMUP,
      concurrency: CONCURRENCY,
      workerConcurrency: WORKER_CONCURRENCY,
      profile,
      window: {
        start: (worker) => {
          window = costWindow([worker]);
        },
        end: () => {
          cost = window!.end(ORDERS);
        },
      },
    });
    return { chainsPerSecond: run.jobsPerSecond, cost: cost! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (databaseUrl) await countsAndDrop(postgres!, `bench_${prefix}`);
  }
}

interface Round {
  /** The bare chain on SQLite, and on PostgreSQL when a variant stores there. */
  ceiling: number;
  ceilingCost: Cost;
  pgCeiling: number;
  pgCeilingCost: Cost | undefined;
  /** One process doing everything (ROLE=all, what `npm start` runs). */
  embedded: number;
  one: number;
  two: number;
  /** API + 1 worker: CPU per order and write transactions per order. */
  cost: Cost;
  writeTxPerOrder: number;
  redisCommandsPerOrder: number;
  /** With webhook endpoints: deliveries written and receiver requests per order (NaN without). */
  deliveriesPerOrder: number;
  receiverRequestsPerOrder: number;
  /** Each worker capped at CAP cores: one worker, then two. */
  oneCapped: number;
  twoCapped: number;
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
const capped = CAP > 0 && cpuCapAvailable();
if (CAP > 0 && !capped) log('no cgroup v1 cpu controller here (or not root): the capped scale-out runs are skipped');
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
/** Pairs of variants measured in the same rounds, reported as median per-round ratios of `of` over `against`. */
interface Comparison {
  store: Store;
  of: number;
  against: number;
  /** `this checkout / baseline abc1234`, without the store. */
  title: string;
}
const comparisons: Comparison[] = [];
const baseline = args.baseline ? checkout(args.baseline) : undefined;
const withEndpoints = `this checkout, ${WEBHOOKS} webhook endpoint${WEBHOOKS === 1 ? '' : 's'}`;
for (const store of STORES as Store[]) {
  const tag = STORES.length > 1 ? `, ${store}` : '';
  const ours = variants.push({ name: `this checkout${tag}`, root: ROOT, store, webhooks: 0 }) - 1;
  if (baseline) {
    const theirs = variants.push({ name: `${baseline.name}${tag}`, root: baseline.root, store, webhooks: 0 }) - 1;
    comparisons.push({ store, of: ours, against: theirs, title: `this checkout / ${baseline.name}` });
  }
  if (WEBHOOKS > 0) {
    const hooked = variants.push({ name: `${withEndpoints}${tag}`, root: ROOT, store, webhooks: WEBHOOKS }) - 1;
    comparisons.push({ store, of: hooked, against: ours, title: `${withEndpoints} / this checkout` });
  }
}
if (WEBHOOKS > 0) receiver = await startWebhookReceiver();
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
    `${capped ? `; capped runs: each worker at ${CAP} cores` : ''}` +
    `; store ${STORES.join(' and ')}${baseline ? `; against ${baseline.name}` : ''}` +
    `${WEBHOOKS > 0 ? `; also ${withEndpoints} (receiver ${receiver!.url})` : ''}`,
);

const NO_COST: Cost = {
  service: Number.NaN,
  postgres: Number.NaN,
  redis: Number.NaN,
  load: Number.NaN,
  total: Number.NaN,
  byProcess: {},
};
const costLine = (c: Cost) =>
  `${c.total.toFixed(2)} ms (service ${c.service.toFixed(2)} [${Object.entries(c.byProcess)
    .map(([name, ms]) => `${name} ${ms.toFixed(2)}`)
    .join(', ')}] + PostgreSQL ${c.postgres.toFixed(2)} + Redis ${c.redis.toFixed(2)}; load generator ${c.load.toFixed(2)})`;

const rounds: Round[][] = variants.map(() => []);
const started = Date.now();
try {
  for (let r = 1; r <= ROUNDS; r++) {
    const sqliteCeiling = await ceilingRun('sqlite');
    const pgCeiling = postgres ? await ceilingRun('postgres') : undefined;
    log(
      `round ${r}: ceiling on SQLite ${sqliteCeiling.chainsPerSecond.toFixed(0)}/s, CPU per chain ${costLine(sqliteCeiling.cost)}` +
        (pgCeiling ? `; on PostgreSQL ${pgCeiling.chainsPerSecond.toFixed(0)}/s, CPU per chain ${costLine(pgCeiling.cost)}` : ''),
    );
    for (const [v, variant] of variants.entries()) {
      const embedded = (await throughputRun(variant, 0)).result;
      const oneRun = await throughputRun(variant, 1);
      const one = oneRun.result;
      const two = (await throughputRun(variant, 2)).result;
      const oneCapped = capped ? (await throughputRun(variant, 1, { workerCpuCap: CAP })).result : undefined;
      const twoCapped = capped ? (await throughputRun(variant, 2, { workerCpuCap: CAP })).result : undefined;
      const latency = await latencyRun(variant);
      const slow = SLOW_SHARE > 0 ? await slowProviderRun(variant) : { p99: Number.NaN };
      const round: Round = {
        ceiling: sqliteCeiling.chainsPerSecond,
        ceilingCost: sqliteCeiling.cost,
        pgCeiling: pgCeiling?.chainsPerSecond ?? Number.NaN,
        pgCeilingCost: pgCeiling?.cost,
        embedded: embedded.ordersPerSecond,
        one: one.ordersPerSecond,
        two: two.ordersPerSecond,
        cost: one.cost,
        writeTxPerOrder: one.writeTxPerOrder,
        redisCommandsPerOrder: one.redisCommandsPerOrder,
        deliveriesPerOrder: one.deliveriesPerOrder,
        receiverRequestsPerOrder: one.receiverRequestsPerOrder,
        oneCapped: oneCapped?.ordersPerSecond ?? Number.NaN,
        twoCapped: twoCapped?.ordersPerSecond ?? Number.NaN,
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
      if (oneRun.counts?.byCalls)
        log(
          `  statements per order (API + 1 worker):\n${oneRun.counts.byCalls.map((t) => `    ${t.calls.toFixed(2)}: ${t.query.replace(/\s+/g, ' ').slice(0, 140)}`).join('\n')}`,
        );
      log(
        `  Redis commands per order (API + 1 worker): ${one.redisTop.map(([name, n]) => `${name} ${n.toFixed(2)}`).join(', ')}`,
      );
      rounds[v]!.push(round);
      const ownCeiling = variant.store === 'postgres' ? round.pgCeiling : round.ceiling;
      log(
        `round ${r}, ${variant.name}: one process ${round.embedded.toFixed(0)}/s, 1 worker ${round.one.toFixed(0)}/s ` +
          `(${(round.one / ownCeiling).toFixed(2)}× its engine's ceiling), 2 workers ${round.two.toFixed(0)}/s` +
          (capped
            ? `, capped at ${CAP} cores each: 1 worker ${round.oneCapped.toFixed(0)}/s, 2 workers ${round.twoCapped.toFixed(0)}/s`
            : '') +
          `; CPU per order (API + 1 worker) ${costLine(round.cost)}, ${round.writeTxPerOrder.toFixed(1)} write transactions, ` +
          `${round.redisCommandsPerOrder.toFixed(1)} Redis commands; ` +
          (variant.webhooks > 0
            ? `${round.deliveriesPerOrder.toFixed(2)} webhook deliveries, ${round.receiverRequestsPerOrder.toFixed(2)} receiver requests; `
            : '') +
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
  await receiver?.close();
  await postgres?.server.stop();
  await redis.stop();
  rmSync(work, { recursive: true, force: true });
}

function medianCost(costs: (Cost | undefined)[]): Cost {
  const of = costs.filter((c): c is Cost => c !== undefined);
  if (of.length === 0) return NO_COST;
  const m = (pick: (c: Cost) => number) => median(of.map(pick));
  return {
    service: m((c) => c.service),
    postgres: m((c) => c.postgres),
    redis: m((c) => c.redis),
    load: m((c) => c.load),
    total: m((c) => c.total),
    byProcess: Object.fromEntries(Object.keys(of[0]!.byProcess).map((name) => [name, m((c) => c.byProcess[name] ?? Number.NaN)])),
  };
}

function summarise(of: Round[], store: Store) {
  const m = (pick: (r: Round) => number) => median(of.map(pick));
  const own = (r: Round) => (store === 'postgres' ? r.pgCeiling : r.ceiling);
  return {
    ceilingChainsPerSecond: m((r) => r.ceiling),
    ceilingCost: medianCost(of.map((r) => r.ceilingCost)),
    pgCeilingChainsPerSecond: m((r) => r.pgCeiling),
    pgCeilingCost: medianCost(of.map((r) => r.pgCeilingCost)),
    embeddedOrdersPerSecond: m((r) => r.embedded),
    embeddedRatioToCeiling: m((r) => r.embedded / own(r)),
    oneWorkerOrdersPerSecond: m((r) => r.one),
    twoWorkersOrdersPerSecond: m((r) => r.two),
    /** Against the ceiling of the variant's own engine, in the same round. */
    ratioToCeiling: m((r) => r.one / own(r)),
    twoWorkersRatioToCeiling: m((r) => r.two / own(r)),
    scaleOut: m((r) => r.two / r.one),
    cost: medianCost(of.map((r) => r.cost)),
    costToCeilingCost: m(
      (r) => r.cost.total / (store === 'postgres' ? (r.pgCeilingCost?.total ?? Number.NaN) : r.ceilingCost.total),
    ),
    writeTxPerOrder: m((r) => r.writeTxPerOrder),
    redisCommandsPerOrder: m((r) => r.redisCommandsPerOrder),
    deliveriesPerOrder: m((r) => r.deliveriesPerOrder),
    receiverRequestsPerOrder: m((r) => r.receiverRequestsPerOrder),
    oneCappedOrdersPerSecond: m((r) => r.oneCapped),
    twoCappedOrdersPerSecond: m((r) => r.twoCapped),
    cappedScaleOut: m((r) => r.twoCapped / r.oneCapped),
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

const summaries = variants.map((v, i) => ({
  variant: v.name,
  store: v.store,
  webhookEndpoints: v.webhooks,
  ...summarise(rounds[i]!, v.store),
  rounds: rounds[i]!,
}));
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
    workerCpuCap: capped ? CAP : undefined,
    webhookEndpoints: WEBHOOKS,
  },
  seconds: Math.round((Date.now() - started) / 1_000),
  variants: summaries,
  // Per store and round, one variant over another (this checkout over the baseline; with endpoints
  // over without): the machine's noise in a round hits both alike.
  comparisons: comparisons.map(({ store, of, against, title }) => {
    const ratio = (pick: (r: Round) => number) => median(rounds[of]!.map((r, i) => pick(r) / pick(rounds[against]![i]!)));
    return {
      store,
      title,
      of: variants[of]!.name,
      against: variants[against]!.name,
      embedded: ratio((r) => r.embedded),
      oneWorker: ratio((r) => r.one),
      twoWorkers: ratio((r) => r.two),
      cpuPerOrder: ratio((r) => r.cost.total),
      shippedP99: ratio((r) => r.shippedP99),
      slowShareShippedP99: ratio((r) => r.slowShareP99),
    };
  }),
};

const f = (n: number, digits = 0) => n.toFixed(digits);
const each = (of: Round[], pick: (r: Round) => number, digits = 0) => of.map((r) => f(pick(r), digits)).join(' / ');
const cpuCell = (c: Cost) =>
  `${f(c.total, 2)} ms (${Object.values(c.byProcess)
    .map((ms) => f(ms, 2))
    .join(' + ')} + ${f(c.postgres, 2)} + ${f(c.redis, 2)}; load ${f(c.load, 2)})`;
const table: string[][] = [['measurement', 'median', 'each round', 'vs its ceiling']];
const first = summaries[0]!;
table.push(
  [
    'ceiling: bare 4-stage BullMQ chain on SQLite',
    `${f(first.ceilingChainsPerSecond)} chains/s`,
    each(rounds[0]!, (r) => r.ceiling),
    '1.00×',
  ],
  [
    'ceiling on SQLite: CPU per chain (worker + PostgreSQL + Redis; producer)',
    cpuCell(first.ceilingCost),
    each(rounds[0]!, (r) => r.ceilingCost.total, 2),
    '',
  ],
);
if (postgres)
  table.push(
    [
      'ceiling: bare 4-stage BullMQ chain on PostgreSQL, one transaction per stage',
      `${f(first.pgCeilingChainsPerSecond)} chains/s`,
      each(rounds[0]!, (r) => r.pgCeiling),
      '1.00×',
    ],
    [
      'ceiling on PostgreSQL: CPU per chain (worker + PostgreSQL + Redis; producer)',
      cpuCell(first.pgCeilingCost),
      each(rounds[0]!, (r) => r.pgCeilingCost?.total ?? Number.NaN, 2),
      '',
    ],
  );
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
      `CPU per order, API + 1 worker (API + worker + PostgreSQL + Redis; load)${tag}`,
      cpuCell(s.cost),
      each(of, (r) => r.cost.total, 2),
      `${f(s.costToCeilingCost, 2)}×`,
    ],
    [
      `write transactions per order, API + 1 worker (the service's count)${tag}`,
      f(s.writeTxPerOrder, 1),
      each(of, (r) => r.writeTxPerOrder, 1),
      '',
    ],
    [
      `Redis commands per order, API + 1 worker${tag}`,
      f(s.redisCommandsPerOrder, 1),
      each(of, (r) => r.redisCommandsPerOrder, 1),
      '',
    ],
  );
  if (variants[i]!.webhooks > 0)
    table.push([
      `webhook deliveries / receiver requests per order, API + 1 worker${tag}`,
      `${f(s.deliveriesPerOrder, 2)} / ${f(s.receiverRequestsPerOrder, 2)}`,
      each(of, (r) => r.deliveriesPerOrder, 2),
      '',
    ]);
  table.push(
    [
      `throughput, API + 2 worker processes${tag}`,
      `${f(s.twoWorkersOrdersPerSecond)} orders/s`,
      each(of, (r) => r.two),
      `${f(s.twoWorkersRatioToCeiling, 2)}×`,
    ],
    [`scale-out, 2 workers / 1${tag}`, `${f(s.scaleOut, 2)}×`, each(of, (r) => r.two / r.one, 2), ''],
  );
  if (capped)
    table.push([
      `scale-out under a cap of ${CAP} cores per worker, 2 workers / 1 (${f(s.oneCappedOrdersPerSecond)} → ${f(s.twoCappedOrdersPerSecond)} orders/s)${tag}`,
      `${f(s.cappedScaleOut, 2)}×`,
      each(of, (r) => r.twoCapped / r.oneCapped, 2),
      '',
    ]);
  table.push(
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
      each(of, (r) => r.txPerOrder, 1),
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
for (const v of results.comparisons)
  console.log(
    `\n${v.store}: ${v.title}, median of per-round ratios: one process ${f(v.embedded, 2)}×, 1 worker ${f(v.oneWorker, 2)}×, 2 workers ${f(v.twoWorkers, 2)}×, CPU per order ${f(v.cpuPerOrder, 2)}×, placement → SHIPPED p99 ${f(v.shippedP99, 2)}×, with tok_slow ${f(v.slowShareShippedP99, 2)}×`,
  );
if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
if (profile.dir)
  log(`\nCPU profiles in ${profile.dir} (open in Chrome DevTools or speedscope; or npx tsx bench/profile-summary.ts FILE)`);
