/**
 * Traces by the standard OTEL_* variables, end to end: the real service runs as a child process
 * and exports to an OTLP/HTTP receiver inside the test. One order is one trace, from its
 * POST /orders server span through the relay's enqueues and every job's run and provider call to
 * SHIPPED; without an endpoint no SDK is loaded and nothing is traced.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { closeDatabase } from '../src/db/open.ts';
import { ADMIN_TOKEN, API_KEY, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { OtlpReceiver, SPAN_KIND, type ReceivedSpan } from './support/otlp-receiver.ts';
import { placeOrderOver, putProductOver, startServiceProcess, type ServiceProcess } from './support/processes.ts';
import { openStore, sqlNumber, sqlRow, storeEnv, type StoreEnv } from './support/store.ts';

/** How long an order may take to ship, and its spans to arrive, on a busy machine. */
const WAIT_MS = 60_000;

const MODULE_LOG_PRELOAD = fileURLToPath(new URL('./support/module-log.mjs', import.meta.url));

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
  cleanup = [];
});

interface Running {
  service: ServiceProcess;
  base: string;
  store: StoreEnv;
  queuePrefix: string;
  /** URLs of every module the process resolved. */
  modules(): string[];
}

/**
 * Starts the service as a process with `env` added (its own database and queue prefix unless `env`
 * names them), logging the modules it loads.
 */
async function startService(env: Record<string, string>): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'orders-tracing-'));
  const moduleLog = join(dir, 'modules.log');
  writeFileSync(moduleLog, '');
  const full: Record<string, string> = {
    ...(env.DATABASE_PATH ? {} : await storeEnv(dir)),
    REDIS_URL: inject('redisUrl'),
    QUEUE_PREFIX: `tr${Date.now()}${Math.floor(Math.random() * 1e6)}`,
    PORT: '0',
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    JOB_BACKOFF_MS: '20',
    NODE_OPTIONS: `--import=${MODULE_LOG_PRELOAD}`,
    MODULE_LOG_FILE: moduleLog,
    ...env,
  };
  const store: StoreEnv = { DATABASE_PATH: full.DATABASE_PATH! };
  if (full.DATABASE_URL) store.DATABASE_URL = full.DATABASE_URL;
  const queuePrefix = full.QUEUE_PREFIX!;
  // Generous: several processes start at once while other suites load the machine.
  const service = await startServiceProcess(full, 60_000);
  cleanup.push(async () => {
    await service.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    service,
    base: `http://127.0.0.1:${service.port}`,
    store,
    queuePrefix,
    modules: () => readFileSync(moduleLog, 'utf8').split('\n').filter(Boolean),
  };
}

async function startReceiver(port?: number): Promise<OtlpReceiver> {
  const receiver = await OtlpReceiver.start(port);
  cleanup.push(() => receiver.stop());
  return receiver;
}

/** GETs a route with the credential its realm asks for: an API key for /orders, else the admin token. */
async function getJson(url: string): Promise<any> {
  const token = new URL(url).pathname.startsWith('/orders') ? API_KEY : ADMIN_TOKEN;
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return res.json();
}

/** Places an order and waits until it has shipped and its `shipped` message went out. */
async function placeAndShip(app: Running, headers: Record<string, string> = {}, token = 'tok_visa'): Promise<string> {
  const { status, id } = await placeOrderOver(app.base, orderBody(token), headers);
  expect(status).toBe(201);
  for (const deadline = Date.now() + WAIT_MS; Date.now() < deadline; ) {
    const order = await getJson(`${app.base}/orders/${id}`);
    const sent = await getJson(`${app.base}/admin/sandbox/notifications?orderId=${id}`);
    if (order.status === 'SHIPPED' && sent.messages.some((m: { kind: string }) => m.kind === 'shipped')) return id!;
    await sleep(20);
  }
  throw new Error(`order ${id} did not ship`);
}

function one(spans: ReceivedSpan[], what: string, match: (s: ReceivedSpan) => boolean): ReceivedSpan {
  const found = spans.filter(match);
  if (found.length !== 1) {
    throw new Error(`expected one span ${what}, found ${found.length} among ${spans.map((s) => s.name).join(', ')}`);
  }
  return found[0]!;
}

/**
 * Walks an order's trace from its server span down to the `shipped` message, checking each parent
 * link and kind; answers the chain's spans by role.
 */
function orderTrace(spans: ReceivedSpan[], orderId: string) {
  const child = (parent: ReceivedSpan, name: string, kind: number, event?: string) =>
    one(
      spans,
      `${name} under ${parent.name}`,
      (s) =>
        s.parentSpanId === parent.spanId &&
        s.traceId === parent.traceId &&
        s.name === name &&
        s.kind === kind &&
        (event === undefined || s.attributes['order.event'] === event),
    );
  const server = one(
    spans,
    `POST /orders of ${orderId}`,
    (s) => s.kind === SPAN_KIND.SERVER && s.attributes['order.id'] === orderId,
  );
  const sendPayment = child(server, 'send payment', SPAN_KIND.PRODUCER, 'OrderPlaced');
  const processPayment = child(sendPayment, 'process payment', SPAN_KIND.CONSUMER, 'OrderPlaced');
  const charge = child(processPayment, 'payment-gateway charge', SPAN_KIND.CLIENT);
  const sendInventory = child(processPayment, 'send inventory', SPAN_KIND.PRODUCER, 'PaymentSucceeded');
  const processInventory = child(sendInventory, 'process inventory', SPAN_KIND.CONSUMER, 'PaymentSucceeded');
  const sendShipping = child(processInventory, 'send shipping', SPAN_KIND.PRODUCER, 'InventoryReserved');
  const processShipping = child(sendShipping, 'process shipping', SPAN_KIND.CONSUMER, 'InventoryReserved');
  const createShipment = child(processShipping, 'carrier createShipment', SPAN_KIND.CLIENT);
  const sendNotification = child(processShipping, 'send notification', SPAN_KIND.PRODUCER, 'ShipmentCreated');
  const processNotification = child(sendNotification, 'process notification', SPAN_KIND.CONSUMER, 'ShipmentCreated');
  const notify = child(processNotification, 'notifier send', SPAN_KIND.CLIENT);
  // Nothing of this order strays into another trace.
  const ofOrder = spans.filter((s) => s.attributes['order.id'] === orderId);
  expect(new Set(ofOrder.map((s) => s.traceId))).toEqual(new Set([server.traceId]));
  return { server, sendPayment, processPayment, charge, createShipment, processNotification, notify, ofOrder };
}

/** The order's `shipped` message has been sent: the last span of its trace is in. */
const shipped = (orderId: string) => (spans: ReceivedSpan[]) =>
  spans.some(
    (s) =>
      s.name === 'notifier send' &&
      spans.some(
        (p) =>
          p.spanId === s.parentSpanId &&
          p.name === 'process notification' &&
          p.attributes['order.id'] === orderId &&
          p.attributes['order.event'] === 'ShipmentCreated',
      ),
  );

describe('traces over OTLP/HTTP', { timeout: 180_000 }, () => {
  it('makes one trace of an order, from its POST /orders server span to SHIPPED, and another trace of the next order', async () => {
    const receiver = await startReceiver();
    const app = await startService({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'orders-under-test',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    expect(await putProductOver(app.base, 'SKU-1', 10, ADMIN_TOKEN)).toBe(201);

    const first = await placeAndShip(app);
    const second = await placeAndShip(app);
    const spans = await receiver.waitFor((s) => shipped(first)(s) && shipped(second)(s), WAIT_MS);

    expect(receiver.requests.every((r) => r.path === '/v1/traces' && r.contentType.startsWith('application/json'))).toBe(true);
    const a = orderTrace(spans, first);
    const b = orderTrace(spans, second);
    expect(a.server.parentSpanId).toBe('');
    expect(a.server.name).toBe('POST /orders');
    expect(a.server.serviceName).toBe('orders-under-test');
    expect(a.server.attributes).toMatchObject({
      'http.request.method': 'POST',
      'url.path': '/orders',
      'http.route': '/orders',
      'http.response.status_code': 201,
    });
    expect(a.charge.attributes['payment.outcome']).toBe('captured');
    expect(b.server.parentSpanId).toBe('');
    expect(b.server.traceId).not.toBe(a.server.traceId);

    // The outbox row carries the context of the span that wrote it; the job, its enqueue's.
    const db = await openStore(app.store);
    const written = await sqlRow<{ traceparent: string }>(
      db,
      `SELECT traceparent FROM outbox WHERE order_id = ? AND type = 'OrderPlaced'`,
      first,
    );
    await closeDatabase(db);
    expect(written?.traceparent).toBe(`00-${a.server.traceId}-${a.server.spanId}-01`);
    const redis = new Redis(inject('redisUrl'));
    const jobData = await redis.hget(`${app.queuePrefix}:payment:${first}-OrderPlaced-payment`, 'data');
    await redis.quit();
    expect(JSON.parse(jobData!)).toMatchObject({
      orderId: first,
      traceparent: `00-${a.server.traceId}-${a.sendPayment.spanId}-01`,
    });

    // Log lines carry the trace: the request's access line, and the message the job sent.
    const accessLine = app.service.logs.find((l) => l.msg === 'request' && l.method === 'POST' && l.path === '/orders');
    expect(accessLine).toMatchObject({ trace_id: a.server.traceId, span_id: a.server.spanId });
    const sentLine = app.service.logs.find((l) => l.msg === 'notification sent' && l.orderId === first && l.kind === 'shipped');
    expect(sentLine).toMatchObject({ trace_id: a.server.traceId, span_id: a.notify.spanId });

    expect(app.modules().some((url) => url.includes('/node_modules/@opentelemetry/sdk-trace/'))).toBe(true);
  });

  it('keeps the retries of a job in the trace of its order, the failed runs and calls marked as errors', async () => {
    const receiver = await startReceiver();
    const app = await startService({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' });
    expect(await putProductOver(app.base, 'SKU-1', 10, ADMIN_TOKEN)).toBe(201);

    // tok_flaky fails twice at the gateway, then captures.
    const id = await placeAndShip(app, {}, 'tok_flaky');
    const spans = await receiver.waitFor(shipped(id), WAIT_MS);

    // The chain through the run that succeeded; the failed runs are checked below.
    const failed = (s: ReceivedSpan) => ['process payment', 'payment-gateway charge'].includes(s.name) && s.statusCode === 2;
    const { sendPayment } = orderTrace(
      spans.filter((s) => !failed(s)),
      id,
    );
    const runs = spans
      .filter(
        (s) => s.name === 'process payment' && s.attributes['order.event'] === 'OrderPlaced' && s.attributes['order.id'] === id,
      )
      .sort((a, b) => Number(a.attributes['job.attempt']) - Number(b.attributes['job.attempt']));
    expect(runs.map((r) => [r.attributes['job.attempt'], r.statusCode])).toEqual([
      [1, 2],
      [2, 2],
      [3, 0],
    ]);
    for (const run of runs) {
      expect(run).toMatchObject({ traceId: sendPayment.traceId, parentSpanId: sendPayment.spanId });
      const charge = one(spans, 'charge of a run', (s) => s.parentSpanId === run.spanId && s.name === 'payment-gateway charge');
      expect(charge.statusCode).toBe(run.statusCode);
    }
  });

  it('keeps one trace per order when the API and the workers are separate processes', async () => {
    const receiver = await startReceiver();
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' };
    const api = await startService({ ...otel, ROLE: 'api', OTEL_SERVICE_NAME: 'orders-api' });
    await startService({
      ...otel,
      ROLE: 'worker',
      OTEL_SERVICE_NAME: 'orders-worker',
      ...api.store,
      QUEUE_PREFIX: api.queuePrefix,
    });
    expect(await putProductOver(api.base, 'SKU-1', 10, ADMIN_TOKEN)).toBe(201);

    const id = await placeAndShip(api);
    const spans = await receiver.waitFor(shipped(id), WAIT_MS);

    const { server, sendPayment, processPayment, notify } = orderTrace(spans, id);
    // The API process sends what its requests wrote; the worker process runs the jobs.
    expect([server, sendPayment].map((s) => s.serviceName)).toEqual(['orders-api', 'orders-api']);
    expect([processPayment, notify].map((s) => s.serviceName)).toEqual(['orders-worker', 'orders-worker']);
  });

  it('continues the trace of a client that sends a W3C traceparent', async () => {
    const receiver = await startReceiver();
    const app = await startService({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' });
    expect(await putProductOver(app.base, 'SKU-1', 10, ADMIN_TOKEN)).toBe(201);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpanId = '00f067aa0ba902b7';

    const id = await placeAndShip(app, { traceparent: `00-${traceId}-${callerSpanId}-01` });
    const spans = await receiver.waitFor(shipped(id), WAIT_MS);

    const { server, processNotification } = orderTrace(spans, id);
    expect(server.traceId).toBe(traceId);
    expect(server.parentSpanId).toBe(callerSpanId);
    expect(processNotification.traceId).toBe(traceId);
  });

  it('exports http/protobuf to a traces endpoint with its headers, and flushes what it holds on SIGTERM', async () => {
    const receiver = await startReceiver();
    const app = await startService({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/collector/v1/traces`,
      // The signal-specific protocol wins over the general one.
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=orders,authorization=Bearer%20s3cret',
      OTEL_SERVICE_NAME: 'orders-protobuf',
      // Nothing leaves before the shutdown: what arrives, the shutdown flushed.
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    expect(await putProductOver(app.base, 'SKU-1', 10, ADMIN_TOKEN)).toBe(201);
    const id = await placeAndShip(app);
    expect(receiver.requests).toHaveLength(0);

    expect(await app.service.kill('SIGTERM')).toBe(0);

    expect(receiver.refused).toEqual([]);
    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const request of receiver.requests) {
      expect(request).toMatchObject({ method: 'POST', path: '/collector/v1/traces', contentType: 'application/x-protobuf' });
      expect(request.headers).toMatchObject({ 'x-tenant': 'orders', authorization: 'Bearer s3cret' });
    }
    const { server } = orderTrace(receiver.spans, id);
    expect(server.serviceName).toBe('orders-protobuf');
    expect(server.attributes['http.response.status_code']).toBe(201);
  });
});

describe('without an OTLP endpoint', { timeout: 180_000 }, () => {
  it('loads no tracing SDK, exports nothing, and writes no trace context to the outbox or the jobs', async () => {
    // The SDK's own default endpoint is localhost:4318: listen there when it is free.
    const receiver = await startReceiver(4318).catch(() => startReceiver());
    const app = await startService({ OTEL_SERVICE_NAME: 'orders-untraced', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    expect(await putProductOver(app.base, 'SKU-1', 10, ADMIN_TOKEN)).toBe(201);
    const id = await placeAndShip(app);
    expect(await app.service.kill('SIGTERM')).toBe(0);

    const loaded = app.modules();
    expect(loaded.some((url) => url.endsWith('/src/service.ts'))).toBe(true);
    expect(loaded.filter((url) => url.endsWith('/src/telemetry/sdk.ts'))).toEqual([]);
    expect(loaded.filter((url) => /\/node_modules\/@opentelemetry\/(?!api\/)/.test(url))).toEqual([]);
    expect(receiver.requests).toEqual([]);
    expect(app.service.logs.filter((l) => 'trace_id' in l)).toEqual([]);

    const db = await openStore(app.store);
    const traced = await sqlNumber(db, 'SELECT count(*) AS n FROM outbox WHERE traceparent IS NOT NULL');
    const rows = await sqlNumber(db, 'SELECT count(*) AS n FROM outbox WHERE order_id = ?', id);
    await closeDatabase(db);
    expect(rows).toBeGreaterThan(0);
    expect(traced).toBe(0);
    const redis = new Redis(inject('redisUrl'));
    const jobData = await redis.hget(`${app.queuePrefix}:payment:${id}-OrderPlaced-payment`, 'data');
    await redis.quit();
    expect(JSON.parse(jobData!)).toEqual({ orderId: id, outboxId: expect.any(Number) });
  });
});
