/**
 * `orders load`: places a load of orders against a running service over HTTP, with a progress
 * bar, retrying as a storefront would when the service does not answer, waits (unless --no-wait)
 * until they come to rest, and prints what happened: placed (and replayed), retried, refused,
 * given up, settled by status, orders per second and latency percentiles.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { OUTBOX_EVENTS, type OutboxEvent } from '../domain/events.ts';
import { waitsOnFailedJob } from '../queues/parked.ts';
import { CliError, type Session, UsageError } from './context.ts';
import { OrdersClient } from './http-client.ts';
import { DEFAULT_RETRY, retryable } from './load-retry.ts';
import {
  percentiles,
  placeOrders,
  putProductOverHttp,
  waitForSettled,
  type Percentiles,
  type TokenShare,
} from './load-engine.ts';
import { printJson, printLines, table } from './output.ts';
import { httpUrl, positiveInt, runWith } from './run.ts';
import { DEMO_CATALOG } from './seed.ts';

const TOKEN_ALIASES: Record<string, string> = {
  visa: 'tok_visa',
  declined: 'tok_chargeDeclined',
  flaky: 'tok_flaky',
  slow: 'tok_slow',
};

const MIX_FORMAT = 'token=weight pairs separated by commas, e.g. visa=90,declined=8,flaky=2';
const DEFAULT_MIX = 'visa=95,declined=5';

/** "visa=90,declined=10" or "tok_visa=9,tok_flaky=1" → token shares. */
export function parseMix(value: string): TokenShare[] {
  const shares = value.split(',').map((part) => {
    const match = /^\s*([A-Za-z0-9_]+)\s*(?:=\s*(\d+)\s*)?$/.exec(part);
    if (!match) throw new InvalidArgumentError(`"${part}" is not token=weight: it takes ${MIX_FORMAT}.`);
    const token = TOKEN_ALIASES[match[1]!] ?? match[1]!;
    if (!token.startsWith('tok_')) {
      throw new InvalidArgumentError(
        `"${match[1]}" is not a payment token: name ${Object.keys(TOKEN_ALIASES).join(', ')} or any tok_*.`,
      );
    }
    return { token, weight: match[2] === undefined ? 1 : Number(match[2]) };
  });
  if (shares.every((s) => s.weight === 0)) throw new InvalidArgumentError('At least one weight must be above 0.');
  return shares.filter((s) => s.weight > 0);
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number of at least 0.');
  return n;
}

export interface LoadSummary {
  url: string;
  requested: number;
  /** Orders the service took (201), replays included. */
  placed: number;
  /** Placed orders answered as a replay: an earlier attempt had gone through, its answer lost. */
  replayed: number;
  /** Orders that took more than one attempt, and the extra attempts in all. */
  retried: number;
  retries: number;
  /** Orders answered with a final refusal (not retried), by HTTP status. */
  refused: number;
  refusals: Record<string, number>;
  /** Orders still without an answer (or still told to come back) when their retries ran out, by last error. */
  gaveUp: number;
  gaveUpOn: Record<string, number>;
  placeSeconds: number;
  placedPerSecond: number;
  postLatencyMs: Percentiles;
  waited: boolean;
  settled: number;
  /** Orders waiting on a job that gave up (in a queue's failed set): not waited for. */
  parked: number;
  unsettled: number;
  byStatus: Record<string, number>;
  settledPerSecond: number;
  settleLatencyMs: Percentiles;
}

interface LoadOptions {
  url?: string;
  count: number;
  concurrency: number;
  rate?: number;
  mix: TokenShare[];
  sku?: string[];
  seed?: boolean;
  adminToken?: string;
  apiKey?: string;
  wait: boolean;
  timeout: number;
  retryFor: number;
  requestTimeout: number;
  json?: boolean;
}

export function loadCommand(program: Command): void {
  program
    .command('load')
    .description('place a load of orders against a running service and report throughput and latency')
    .option('--url <url>', 'the service (default: http://127.0.0.1:$PORT)', httpUrl)
    .option('-n, --count <orders>', 'orders to place', positiveInt, 100)
    .option('-c, --concurrency <clients>', 'clients placing orders at once', positiveInt, 10)
    .option('--rate <orders/s>', 'offer orders at this fixed rate instead of as fast as the clients can', positiveInt)
    .addOption(
      new Option(
        '--mix <token=weight,...>',
        'payment tokens and their shares, e.g. visa=90,declined=8,flaky=2 (a token is visa, declined, flaky, slow or any tok_*; a weight left out is 1)',
      )
        .argParser(parseMix)
        .default(parseMix(DEFAULT_MIX), DEFAULT_MIX),
    )
    .option('--sku <sku...>', 'SKUs to order, one unit per order, in turn (default: the demo catalog)')
    .option('--seed', 'first PUT the demo catalog through the admin API (needs the admin token)')
    .option('--admin-token <token>', 'admin bearer token for --seed (default: ADMIN_TOKEN)')
    .option('--api-key <key>', 'API key for the order routes (default: API_KEY, else the first of API_KEYS)')
    .option('--no-wait', 'do not wait for the orders to come to rest')
    .option('--timeout <ms>', 'how long to wait for the orders to come to rest', positiveInt, 120_000)
    .option(
      '--retry-for <ms>',
      'retry an order that gets no answer, a 503 or a 429 for this long, with the same Idempotency-Key (0: never)',
      nonNegativeInt,
      DEFAULT_RETRY.retryForMs,
    )
    .option(
      '--request-timeout <ms>',
      'give up waiting for one answer after this long (then retry)',
      positiveInt,
      DEFAULT_RETRY.requestTimeoutMs,
    )
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Examples:
  orders load --seed --admin-token "$ADMIN_TOKEN" --count 2000 --concurrency 32
  orders load --rate 200 --count 6000 --mix visa=90,declined=8,flaky=2

Exits 1 when the service cannot be reached, an order is refused or given up
after its retries, an order waits on a failed job (found through the service's
Redis, and not waited for), or an order has not come to rest in time.`,
    )
    .action(
      runWith(async (session, options: LoadOptions) => {
        const url = (options.url ?? `http://127.0.0.1:${session.config.http.port}`).replace(/\/$/, '');
        await checkReachable(url);
        const apiKey = options.apiKey ?? session.config.api.clientApiKey;
        if (!apiKey) throw new UsageError('load needs an API key: pass --api-key or set API_KEY');
        if (options.seed) {
          const token =
            options.adminToken ?? (session.config.api.adminTokenGenerated ? undefined : session.config.api.adminToken);
          if (!token) throw new UsageError('--seed needs the admin token: pass --admin-token or set ADMIN_TOKEN');
          await seedOverHttp(url, token);
        }
        const summary = await runLoad(url, { ...options, apiKey }, await parkedCheck(session, url, apiKey));
        if (options.json) printJson(summary);
        else printLines(summaryLines(summary));
        const lost = [
          summary.refused > 0 ? `${summary.refused} refused` : '',
          summary.gaveUp > 0 ? `${summary.gaveUp} given up after retries` : '',
        ].filter(Boolean);
        if (lost.length > 0) throw new CliError(`${lost.join(' and ')}, of ${summary.requested} orders`);
        if (summary.parked > 0) {
          throw new CliError(
            `${summary.parked} orders wait on a failed job and will not move until it is retried: see \`orders failed\`, then \`orders requeue\``,
          );
        }
        if (summary.unsettled > 0)
          throw new CliError(`${summary.unsettled} orders had not come to rest after ${options.timeout} ms`);
      }),
    );
}

/**
 * Tells an order parked on a failed job, from the service's queues (REDIS_URL, QUEUE_PREFIX, as
 * the other commands find them) and the order's timeline; without Redis, nothing is parked.
 */
async function parkedCheck(
  session: Session,
  url: string,
  apiKey: string,
): Promise<((id: string) => Promise<boolean>) | undefined> {
  const queues = await session.queues().catch(() => undefined);
  if (!queues) return undefined;
  const client = new OrdersClient(url, { apiKey });
  return async (id) => {
    const res = await client.request('GET', `/orders/${id}/events`);
    if (res.status !== 200) return false;
    const types = (res.json as { events: { type: string }[] }).events.map((e) => e.type);
    return waitsOnFailedJob(
      queues,
      id,
      types.filter((t): t is OutboxEvent => (OUTBOX_EVENTS as readonly string[]).includes(t)),
    );
  };
}

async function runLoad(url: string, options: LoadOptions, isParked?: (id: string) => Promise<boolean>): Promise<LoadSummary> {
  // Loaded here, not at the top: the other commands, and --help, need no progress bars.
  const { Presets, SingleBar } = await import('cli-progress');
  const showBars = !options.json && process.stderr.isTTY === true;
  const bar = (label: string) =>
    new SingleBar(
      { stream: process.stderr, format: `${label} [{bar}] {value}/{total} {percentage}% | {duration}s`, hideCursor: true },
      Presets.shades_classic,
    );

  const startedAt = Date.now();
  const placing = bar('placing ');
  if (showBars) placing.start(options.count, 0);
  const { placements, elapsedMs } = await placeOrders({
    url,
    count: options.count,
    concurrency: options.concurrency,
    rate: options.rate,
    mix: options.mix,
    skus: options.sku ?? DEMO_CATALOG.map((p) => p.sku),
    apiKey: options.apiKey,
    onPlaced: (n) => showBars && placing.update(n),
    retry: { ...DEFAULT_RETRY, retryForMs: options.retryFor, requestTimeoutMs: options.requestTimeout },
  });
  if (showBars) placing.stop();

  const ids = placements.flatMap((p) => (p.id ? [p.id] : []));
  const refusals: Record<string, number> = {};
  const gaveUpOn: Record<string, number> = {};
  const count = (into: Record<string, number>, key: string) => (into[key] = (into[key] ?? 0) + 1);
  for (const p of placements) {
    if (p.id) continue;
    if (retryable(p)) count(gaveUpOn, p.status ? String(p.status) : (p.error ?? 'no answer'));
    else count(refusals, String(p.status));
  }

  let settled = new Map<string, { status: string; settleMs: number; settledAt: number }>();
  const parked = new Set<string>();
  if (options.wait && ids.length > 0) {
    const settling = bar('settling');
    if (showBars) settling.start(ids.length, 0);
    settled = await waitForSettled(url, ids, {
      timeoutMs: options.timeout,
      apiKey: options.apiKey,
      ...(isParked ? { isParked, onParked: (id: string) => parked.add(id) } : {}),
      onSettled: (n) => showBars && settling.update(n),
    });
    if (showBars) settling.stop();
  }
  const byStatus: Record<string, number> = {};
  for (const o of settled.values()) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
  const lastSettled = Math.max(startedAt, ...[...settled.values()].map((o) => o.settledAt));
  const round = (n: number) => Math.round(n * 10) / 10;
  const roundAll = (p: Percentiles): Percentiles => ({
    p50: round(p.p50),
    p90: round(p.p90),
    p99: round(p.p99),
    max: round(p.max),
  });
  return {
    url,
    requested: options.count,
    placed: ids.length,
    replayed: placements.filter((p) => p.replayed).length,
    retried: placements.filter((p) => (p.attempts ?? 1) > 1).length,
    retries: placements.reduce((sum, p) => sum + (p.attempts ?? 1) - 1, 0),
    refused: Object.values(refusals).reduce((a, b) => a + b, 0),
    refusals,
    gaveUp: Object.values(gaveUpOn).reduce((a, b) => a + b, 0),
    gaveUpOn,
    placeSeconds: round(elapsedMs / 1_000),
    placedPerSecond: round(ids.length / (elapsedMs / 1_000)),
    postLatencyMs: roundAll(percentiles(placements.map((p) => p.latencyMs))),
    waited: options.wait,
    settled: settled.size,
    parked: parked.size,
    unsettled: options.wait ? ids.length - settled.size - parked.size : 0,
    byStatus,
    settledPerSecond: settled.size === 0 ? 0 : round(settled.size / Math.max(0.001, (lastSettled - startedAt) / 1_000)),
    settleLatencyMs: roundAll(percentiles([...settled.values()].map((o) => o.settleMs))),
  };
}

function summaryLines(s: LoadSummary): string[] {
  const pct = (p: Percentiles) => `p50 ${p.p50} ms, p90 ${p.p90} ms, p99 ${p.p99} ms, max ${p.max} ms`;
  const byKey = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([key, n]) => `${key}: ${n}`)
      .join(', ');
  const rows: string[][] = [
    [
      'placed',
      `${s.placed} of ${s.requested}${s.replayed ? ` (${s.replayed} answered as replays: an earlier attempt had gone through)` : ''}`,
    ],
  ];
  if (s.retried) rows.push(['retried', `${s.retried} orders, ${s.retries} retries with the same Idempotency-Key`]);
  if (s.refused) rows.push(['refused', `${s.refused} (${byKey(s.refusals)})`]);
  if (s.gaveUp) rows.push(['gave up', `${s.gaveUp} after retrying (${byKey(s.gaveUpOn)})`]);
  rows.push(['placing', `${s.placeSeconds} s, ${s.placedPerSecond} orders/s`], ['POST /orders', pct(s.postLatencyMs)]);
  if (s.waited) {
    const statuses = Object.entries(s.byStatus)
      .sort()
      .map(([status, n]) => `${status} ${n}`)
      .join(', ');
    rows.push(
      ['settled', `${s.settled}${statuses ? ` (${statuses})` : ''}${s.unsettled ? `; ${s.unsettled} not at rest` : ''}`],
      ...(s.parked
        ? [['parked', `${s.parked} waiting on a failed job (orders failed; orders requeue once the cause is fixed)`]]
        : []),
      ['throughput', `${s.settledPerSecond} orders/s placed to settled`],
      ['placed→settled', pct(s.settleLatencyMs)],
    );
  }
  return table(['LOAD', s.url], rows);
}

async function checkReachable(url: string): Promise<void> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
    await res.body?.cancel();
    if (res.status >= 500) throw new Error(`GET /healthz answered ${res.status}`);
  } catch (error) {
    throw new CliError(`cannot reach the service at ${url}: ${String((error as Error).cause ?? (error as Error).message)}`);
  }
}

async function seedOverHttp(url: string, token: string): Promise<void> {
  for (const product of DEMO_CATALOG) {
    const { status, text } = await putProductOverHttp(url, token, product);
    if (status >= 300) throw new CliError(`PUT /admin/products/${product.sku} answered ${status}: ${text.slice(0, 200)}`);
  }
}
