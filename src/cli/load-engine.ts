/**
 * The load generator behind `orders load` (and the benchmark): places orders over HTTP against a
 * running service, either as fast as `concurrency` clients can (closed loop) or at a fixed offered
 * rate (open loop: a slow answer does not slow the next request), then polls the orders until
 * they come to rest.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProductInput } from '../db/stock.ts';
import { isAtRest, type OrderStatus } from '../domain/order-machine.ts';
import type { PaymentStatus } from '../domain/payment.ts';
import { OrdersClient } from './http-client.ts';
import { withRetries, type RetryPolicy } from './load-retry.ts';

export interface TokenShare {
  token: string;
  weight: number;
}

export interface PlaceOptions {
  url: string;
  count: number;
  /** Clients placing orders at once (closed loop). */
  concurrency: number;
  /** Orders per second offered on a fixed schedule (open loop); closed loop when unset. */
  rate?: number;
  mix: readonly TokenShare[];
  skus: readonly string[];
  /** Sent as `Authorization: Bearer <apiKey>` to the client routes. */
  apiKey?: string;
  onPlaced?: (placed: number) => void;
  /** Retry each order that gets no answer (or a 503/429) with the same Idempotency-Key; no retries when unset. */
  retry?: RetryPolicy;
}

export interface Placement {
  /** The order id, when the service answered 201. */
  id?: string;
  status: number;
  latencyMs: number;
  error?: string;
  /** The service answered an earlier attempt's order again (Idempotent-Replayed). */
  replayed?: boolean;
  /** Seconds the service asked the client to wait (Retry-After), with a 503 or 429. */
  retryAfterS?: number;
  /** Attempts made for this order, when retried (see load-retry.ts). */
  attempts?: number;
}

export interface PlaceResult {
  placements: Placement[];
  elapsedMs: number;
}

const ADDRESS = { name: 'Load Tester', line1: '1 Benchmark Way', city: 'Springfield', postalCode: '12345', country: 'US' };

/**
 * Token for the i-th order: the mix spread evenly over each cycle of sum(weights) orders, so that
 * any run of the cycle's length holds the exact shares.
 */
function tokenCycle(mix: readonly TokenShare[]): string[] {
  const total = mix.reduce((sum, m) => sum + m.weight, 0);
  const cycle: string[] = [];
  const given = mix.map(() => 0);
  for (let i = 1; i <= total; i++) {
    // Give the slot to the token furthest behind its share so far.
    let best = 0;
    for (let k = 1; k < mix.length; k++) {
      if ((mix[k]!.weight * i) / total - given[k]! > (mix[best]!.weight * i) / total - given[best]!) best = k;
    }
    given[best]!++;
    cycle.push(mix[best]!.token);
  }
  return cycle;
}

function orderRequest(i: number, cycle: readonly string[], skus: readonly string[]) {
  return {
    customerId: `cus_load_${i % 100}`,
    items: [{ sku: skus[i % skus.length]!, quantity: 1 }],
    payment: { token: cycle[i % cycle.length]! },
    shippingAddress: ADDRESS,
  };
}

/** Places one order over HTTP; never throws: a refusal or a network error is in the answer. */
export async function placeOrderOverHttp(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  { apiKey, timeoutMs }: { apiKey?: string; timeoutMs?: number } = {},
): Promise<Placement> {
  const started = performance.now();
  try {
    const res = await new OrdersClient(url, { apiKey }).placeOrder(body, headers, { timeoutMs });
    const latencyMs = performance.now() - started;
    if (res.status !== 201) return { status: res.status, latencyMs, error: res.text.slice(0, 200), ...retryAfter(res.headers) };
    const replayed = res.headers.get('idempotent-replayed') === 'true';
    return { id: (res.json as { id: string }).id, status: res.status, latencyMs, ...(replayed ? { replayed } : {}) };
  } catch (error) {
    return { status: 0, latencyMs: performance.now() - started, error: networkError(error) };
  }
}

/** What went wrong without an answer: the system error code (ECONNREFUSED, ECONNRESET…) when there is one. */
function networkError(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timeout';
  const cause = (error as Error).cause as { code?: string } | undefined;
  return cause?.code ?? String(cause ?? error);
}

function retryAfter(headers: Headers): { retryAfterS?: number } {
  const seconds = Number(headers.get('retry-after') ?? NaN);
  return Number.isFinite(seconds) && seconds >= 0 ? { retryAfterS: seconds } : {};
}

export async function placeOrders(options: PlaceOptions): Promise<PlaceResult> {
  const cycle = tokenCycle(options.mix);
  const placements: Placement[] = new Array(options.count);
  let placed = 0;
  const record = (i: number, p: Placement) => {
    placements[i] = p;
    options.onPlaced?.(++placed);
  };
  // With retries, each order has its own Idempotency-Key, so that a retry of a request whose
  // answer was lost gets the same order back instead of a second one.
  const run = randomBytes(6).toString('hex');
  const place = (i: number): Promise<Placement> => {
    const body = orderRequest(i, cycle, options.skus);
    const retry = options.retry;
    const { apiKey } = options;
    if (!retry) return placeOrderOverHttp(options.url, body, {}, { apiKey });
    const headers = { 'idempotency-key': `load-${run}-${i}` };
    return withRetries(retry, () =>
      placeOrderOverHttp(options.url, body, headers, { apiKey, timeoutMs: retry.requestTimeoutMs }),
    );
  };
  const started = performance.now();
  if (options.rate) {
    const gapMs = 1_000 / options.rate;
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < options.count; i++) {
      const due = started + i * gapMs;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      inFlight.push(place(i).then((p) => record(i, p)));
    }
    await Promise.all(inFlight);
  } else {
    let next = 0;
    const client = async () => {
      while (next < options.count) {
        const i = next++;
        record(i, await place(i));
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency, options.count) }, client));
  }
  return { placements, elapsedMs: performance.now() - started };
}

/** Puts a product on sale through the admin API; answers the HTTP status and body. */
export async function putProductOverHttp(
  url: string,
  adminToken: string,
  product: ProductInput,
): Promise<{ status: number; text: string }> {
  const { status, text } = await new OrdersClient(url, { adminToken }).putProduct(product);
  return { status, text };
}

export interface SettledOrder {
  id: string;
  status: string;
  /** From placement to the last change of the order, by the order's own clock. */
  settleMs: number;
  settledAt: number;
}

/** Polls each order until it is at rest or `timeoutMs` passes; returns those that settled. */
export async function waitForSettled(
  url: string,
  ids: readonly string[],
  options: {
    timeoutMs: number;
    concurrency?: number;
    apiKey?: string;
    onSettled?: (settled: number) => void;
    /**
     * Whether an order that is not at rest waits on a job that gave up: it will not come to rest
     * before an operator retries that job, so it is not waited for (and `onParked` is told).
     */
    isParked?: (id: string) => Promise<boolean>;
    onParked?: (id: string) => void;
  },
): Promise<Map<string, SettledOrder>> {
  const settled = new Map<string, SettledOrder>();
  const deadline = Date.now() + options.timeoutMs;
  let pending = [...ids];
  while (pending.length > 0 && Date.now() < deadline) {
    const still: string[] = [];
    let next = 0;
    const poller = async () => {
      while (next < pending.length) {
        const id = pending[next++]!;
        const order = await getOrderOverHttp(url, id, options.apiKey);
        // At rest: nothing more will happen without the outside world (a delivery, a customer).
        if (order && isAtRest({ status: order.status, paymentStatus: order.payment.status })) {
          const createdAt = Date.parse(order.createdAt);
          const updatedAt = Date.parse(order.updatedAt);
          settled.set(id, { id, status: order.status, settleMs: updatedAt - createdAt, settledAt: updatedAt });
          options.onSettled?.(settled.size);
        } else if (order && (await options.isParked?.(id).catch(() => false))) options.onParked?.(id);
        else still.push(id);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, poller));
    pending = still;
    if (pending.length > 0) await sleep(100);
  }
  return settled;
}

type OrderJson = { status: OrderStatus; payment: { status: PaymentStatus }; createdAt: string; updatedAt: string };

/** An order as GET /orders/{id} answers it; undefined for any refusal or network error. */
async function getOrderOverHttp(url: string, id: string, apiKey?: string): Promise<OrderJson | undefined> {
  try {
    const res = await new OrdersClient(url, { apiKey }).getOrder(id);
    return res.status === 200 ? (res.json as OrderJson) : undefined;
  } catch {
    return undefined;
  }
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles; zeros for no samples. */
export function percentiles(samples: readonly number[]): Percentiles {
  if (samples.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { p50: at(50), p90: at(90), p99: at(99), max: sorted.at(-1)! };
}

export function median(values: readonly number[]): number {
  return percentiles(values).p50;
}
