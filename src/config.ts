/**
 * The one reader of process.env. Every variable of DESIGN.md "Configuration" is validated here at
 * start; a bad value stops the process with one line naming the variable.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { QUEUE_NAMES, type QueueName } from './queues/routing.ts';

const int = (fallback: number, min = 0) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .default(fallback);

/** A whole number of milliseconds with no default here: the caller picks between two variables. */
const optionalMs = () =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .optional();

const httpUrl = () => z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional();

/** The OTLP encodings the service exports with; gRPC would need another exporter and its HTTP/2 stack. */
const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
const otlpProtocol = () =>
  z.enum(OTLP_PROTOCOLS, { error: 'must be http/protobuf or http/json (grpc is not supported)' }).optional();

export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/**
 * `key1=value1,key2=value2`, values percent-encoded (the format of OTEL_EXPORTER_OTLP_HEADERS and
 * OTEL_RESOURCE_ATTRIBUTES); parsed into a record.
 */
const keyValueList = (what: string) =>
  z
    .string()
    .transform((text, ctx) => {
      const pairs: Record<string, string> = {};
      for (const item of text.split(',')) {
        if (item.trim() === '') continue;
        const at = item.indexOf('=');
        const key = at > 0 ? item.slice(0, at).trim() : '';
        let value: string | undefined;
        try {
          value = at > 0 ? decodeURIComponent(item.slice(at + 1).trim()) : undefined;
        } catch {
          value = undefined;
        }
        if (!key || value === undefined) {
          ctx.addIssue({ code: 'custom', message: `must be ${what}` });
          return z.NEVER;
        }
        pairs[key] = value;
      }
      return pairs;
    })
    .optional();

/** Where and how traces go: the standard OpenTelemetry variables (see `tracingConfig`). */
const OTEL_ENV = {
  OTEL_SDK_DISABLED: z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(['true', 'false'], { error: 'must be true or false' }))
    .optional(),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none'], { error: 'must be otlp or none' }).optional(),
  OTEL_SERVICE_NAME: z.string().optional(),
  OTEL_RESOURCE_ATTRIBUTES: keyValueList('a list of key=value pairs separated by commas'),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl(),
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol(),
  OTEL_EXPORTER_OTLP_HEADERS: keyValueList('a list of name=value headers separated by commas'),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: keyValueList('a list of name=value headers separated by commas'),
  OTEL_EXPORTER_OTLP_TIMEOUT: optionalMs(),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: optionalMs(),
  OTEL_EXPORTER_OTLP_COMPRESSION: z.enum(['gzip', 'none'], { error: 'must be gzip or none' }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: z.enum(['gzip', 'none'], { error: 'must be gzip or none' }).optional(),
  OTEL_TRACES_SAMPLER: z.enum(SAMPLERS, { error: `must be one of ${SAMPLERS.join(', ')}` }).default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce
    .number({ error: 'must be a number' })
    .min(0, { error: 'must be between 0 and 1' })
    .max(1, { error: 'must be between 0 and 1' })
    .optional(),
  OTEL_BSP_SCHEDULE_DELAY: int(5_000, 1),
  OTEL_BSP_EXPORT_TIMEOUT: int(30_000, 1),
  OTEL_BSP_MAX_QUEUE_SIZE: int(2_048, 1),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: int(512, 1),
};

const EnvSchema = z.object({
  ...OTEL_ENV,
  PORT: int(3000, 0).refine((p) => p <= 65535, { error: 'must be a port number (0-65535)' }),
  METRICS_PORT: z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(0, { error: 'must be a port number (0-65535)' })
    .max(65535, { error: 'must be a port number (0-65535)' })
    .optional(),
  ROLE: z.enum(['all', 'api', 'worker'], { error: 'must be one of all, api, worker' }).default('all'),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  REDIS_SENTINELS: z
    .string()
    .transform((list) => list.split(',').map((entry) => entry.trim()))
    .refine((entries) => entries.every((entry) => /^[A-Za-z0-9.-]{1,253}:\d{1,5}$/.test(entry)), {
      error: 'must be a comma-separated list of host:port',
    })
    .optional(),
  REDIS_SENTINEL_MASTER: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, { error: 'must be a master name (letters, digits, . _ -)' })
    .default('mymaster'),
  MANAGED_REDIS: z.enum(['auto', 'always'], { error: 'must be one of auto, always' }).default('auto'),
  DATABASE_PATH: z.string().min(1, { error: 'must not be empty' }).default('data/orders.db'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' }).optional(),
  DATABASE_POOL_SIZE: int(10, 1).refine((n) => n <= 1000, { error: 'must be at most 1000' }),
  ADMIN_TOKEN: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
  WEBHOOK_SECRET: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
  WEBHOOK_TOLERANCE_S: int(300, 1),
  API_KEYS: z
    .string()
    .transform((list) => list.split(',').map((key) => key.trim()))
    .refine((keys) => keys.every((key) => /^[\x21-\x7e]{16,}$/.test(key)), {
      error: 'must be a comma-separated list of keys, each at least 16 visible ASCII characters',
    })
    .optional(),
  API_KEY: z
    .string()
    .regex(/^[\x21-\x7e]{16,}$/, { error: 'must be at least 16 visible ASCII characters' })
    .optional(),
  HOST: z
    .string()
    .regex(/^[A-Za-z0-9.:_-]{1,253}$/, { error: 'must be an IP address or a host name' })
    .default('127.0.0.1'),
  CORS_ORIGINS: z
    .string()
    .transform((list) => list.split(',').map((origin) => origin.trim()))
    .refine((origins) => origins.every(isOrigin), {
      error: 'must be a comma-separated list of origins such as https://shop.example (scheme, host, optional port; no path)',
    })
    .optional(),
  TRUST_PROXY: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  MAX_ORDER_TOTAL_CENTS: int(10_000_000, 1),
  API_KEY_RATE_LIMIT: int(5_000, 0),
  ADDRESS_RATE_LIMIT: int(60, 0),
  ADMIN_AUTH_FAILURE_LIMIT: int(10, 0),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, { error: 'must be 1-40 letters, digits, _ or -' })
    .default('orders'),
  WORKER_CONCURRENCY: int(8, 1),
  QUEUE_CONCURRENCY: z
    .string()
    .transform((text, ctx) => {
      const parsed = parseQueueConcurrency(text);
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: parsed });
        return z.NEVER;
      }
      return parsed;
    })
    .optional(),
  PROVIDER_TIMEOUT_MS: int(10_000, 1),
  PAYMENT_LATENCY_MS: int(0),
  PAYMENT_TIMEOUT_MS: int(30_000, 1),
  STUCK_AFTER_MS: int(60_000, 1),
  RECONCILE_INTERVAL_MS: int(10_000, 10),
  SHUTDOWN_GRACE_MS: int(10_000, 0),
  JOB_ATTEMPTS: int(10, 1),
  JOB_BACKOFF_MS: int(500, 1),
  JOB_LOCK_MS: int(30_000, 500),
  JOB_STALLED_INTERVAL_MS: int(5_000, 100),
  REDIS_COMMAND_TIMEOUT_MS: int(2_000, 100),
  REDIS_SOCKET_TIMEOUT_MS: int(10_000, 500),
  HTTP_HEADERS_TIMEOUT_MS: int(10_000, 100),
  HTTP_REQUEST_TIMEOUT_MS: int(30_000, 100),
  MAX_CONNECTIONS_PER_ADDRESS: int(256, 0),
  RELAY_SWEEP_MS: int(1_000, 10),
  RELAY_FAILING_READY_MS: int(30_000, 100),
  OUTBOX_LAG_READY_MS: int(120_000, 0),
  COMPLETED_JOB_RETENTION_S: int(60 * 60, 0),
  COMPLETED_JOB_RETENTION_COUNT: int(50_000, 0),
  FAILED_JOB_RETENTION_S: int(7 * 24 * 60 * 60, 60),
  IDEMPOTENCY_TTL_MS: int(24 * 60 * 60 * 1000, 1),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  SMTP_URL: z
    .url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' })
    // No credentials at all is a relay or a development catcher; half of them is a typo.
    .refine((url) => !URL.canParse(url) || (new URL(url).username === '') === (new URL(url).password === ''), {
      error: 'must carry both a user and a password, or neither: smtp://user:password@host:port or smtp://host:port',
    })
    .optional(),
  MAIL_LEASE_MS: int(60_000, 1_000),
  MAIL_FROM: z
    .string()
    .refine((from) => mailAddressOf(from) !== undefined, { error: 'must be an address, or Name <address>' })
    .optional(),
});

/** The bare address of `a@b.example` or `Name <a@b.example>`; undefined when it is neither. */
function mailAddressOf(from: string): string | undefined {
  if (/[\x00-\x1f\x7f]/.test(from)) return undefined;
  const address = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from;
  return z.email().safeParse(address.trim()).success ? address.trim() : undefined;
}

/** `https://shop.example` or `http://localhost:5173`: what a browser sends in `Origin`. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return /^https?:$/.test(url.protocol) && url.origin === value;
  } catch {
    return false;
  }
}

/** Variables whose values are secrets, or hold one: never echoed in an error. */
const SECRETS = new Set([
  'ADMIN_TOKEN',
  'WEBHOOK_SECRET',
  'API_KEYS',
  'API_KEY',
  'SMTP_URL',
  'DATABASE_URL',
  // A Redis URL carries its password; OTLP headers carry a backend's key.
  'REDIS_URL',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
]);

export type Role = 'all' | 'api' | 'worker';

/** Set when traces are exported; unset, the service loads no tracing SDK and makes no spans. */
export interface TracingConfig {
  serviceName: string;
  resourceAttributes: Record<string, string>;
  /** The full URL spans are POSTed to (…/v1/traces). */
  url: string;
  protocol: (typeof OTLP_PROTOCOLS)[number];
  headers: Record<string, string>;
  timeoutMs: number;
  compression: 'gzip' | 'none';
  sampler: (typeof SAMPLERS)[number];
  /** The ratio of the traceidratio samplers (1 = every trace). */
  samplerRatio: number;
  batch: { scheduleDelayMs: number; exportTimeoutMs: number; maxQueueSize: number; maxExportBatchSize: number };
}

export interface Config {
  port: number;
  role: Role;
  /** Where a ROLE=worker process serves /healthz, /readyz and /metrics; unset: it serves nothing. */
  metricsPort: number | undefined;
  /** Unset: use a Redis on 127.0.0.1:6379, or start a managed one. */
  redisUrl: string | undefined;
  /** Redis through Sentinel (REDIS_SENTINELS), wins over REDIS_URL: the sentinels and the master's name. */
  redisSentinels: { sentinels: { host: string; port: number }[]; name: string } | undefined;
  /** With REDIS_URL unset: `auto` tries 127.0.0.1:6379 before the managed redis-server, `always` goes straight to it. */
  managedRedis: 'auto' | 'always';
  /** The SQLite file, when DATABASE_URL is unset. */
  databasePath: string;
  /** A PostgreSQL URL: the store is PostgreSQL, and `databasePath` is unused but for the managed Redis's folder. */
  databaseUrl: string | undefined;
  /** PostgreSQL connections each process may hold. */
  databasePoolSize: number;
  adminToken: string;
  /** True when the token was made up at start and must be shown to the operator. */
  adminTokenGenerated: boolean;
  webhookSecret: string;
  webhookSecretGenerated: boolean;
  /** How far a carrier delivery's signed timestamp may be from now, in seconds. */
  webhookToleranceS: number;
  /** The keys of the client routes (/orders); several, so that one can be rotated without downtime. */
  apiKeys: string[];
  /** True when the one key was made up at start and must be shown to the operator. */
  apiKeysGenerated: boolean;
  /** The key the CLI sends to the client routes: API_KEY, else the first of API_KEYS when set. */
  clientApiKey: string | undefined;
  /** The address the HTTP servers listen on. */
  host: string;
  /** Origins whose browsers may call the client routes (CORS); empty: no CORS at all. */
  corsOrigins: string[];
  /** Take the client's address from X-Forwarded-For (the entry the proxy in front added). */
  trustProxy: boolean;
  maxOrderTotalCents: number;
  /** Requests a second per API key on the client routes; 0: no limit. */
  apiKeyRateLimit: number;
  /** Requests a minute per client address without a valid API key; 0: no limit. */
  addressRateLimit: number;
  /** Wrong admin credentials a minute per client address before it is refused; 0: no limit. */
  adminAuthFailureLimit: number;
  queuePrefix: string;
  workerConcurrency: number;
  /** Jobs each worker process runs at once, per queue (QUEUE_CONCURRENCY over the defaults). */
  queueConcurrency: Record<QueueName, number>;
  /** How long one call to the gateway, the carrier or the notifier may take before it counts as failed. */
  providerTimeoutMs: number;
  paymentLatencyMs: number;
  paymentTimeoutMs: number;
  stuckAfterMs: number;
  reconcileIntervalMs: number;
  /** How long a SIGTERM waits for active jobs before handing them back to the queue. */
  shutdownGraceMs: number;
  jobAttempts: number;
  jobBackoffMs: number;
  /** A crashed worker's active jobs are handed to another worker after about this long. */
  jobLockMs: number;
  /**
   * How often workers look for jobs whose lock expired: a crashed worker's job runs again between
   * JOB_LOCK_MS and JOB_LOCK_MS + this after the crash.
   */
  jobStalledIntervalMs: number;
  /** Every Redis command made for an HTTP answer or by the relay gives up after this long. */
  redisCommandTimeoutMs: number;
  /** A Redis connection that hears nothing this long while a command waits is dropped and made again. */
  redisSocketTimeoutMs: number;
  /** A client must send its request headers within this long, and the whole request within the next. */
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  /** Open HTTP connections one client address may hold (not applied with TRUST_PROXY); 0: no cap. */
  maxConnectionsPerAddress: number;
  relaySweepMs: number;
  /** The relay failing this long makes the process not ready (and is logged once at error level). */
  relayFailingReadyMs: number;
  /** An outbox event not queued after this long makes the process not ready; 0: no bound. */
  outboxLagReadyMs: number;
  /** Completed jobs are kept this long (s) and at most this many per queue; failed ones this long. */
  completedJobRetentionS: number;
  completedJobRetentionCount: number;
  failedJobRetentionS: number;
  idempotencyTtlMs: number;
  logLevel: string;
  /**
   * How long one run may hold an (order, kind) while emailing it: longer than any send takes (a
   * send is bounded to about 30 s); a run paused past it gives up before its end of DATA.
   */
  mailLeaseMs: number;
  /** Customer messages by email: set when SMTP_URL is (MAIL_FROM is then required). */
  mail: { smtpUrl: string; from: string; fromAddress: string } | undefined;
  /** Unset unless an OTLP endpoint is configured. */
  tracing: TracingConfig | undefined;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads and validates the environment; throws ConfigError with one line per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "unset", as it does in most shells' and compose files' eyes.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = EnvSchema.superRefine((e, ctx) => {
    if (e.SMTP_URL !== undefined && e.MAIL_FROM === undefined) {
      ctx.addIssue({ code: 'custom', path: ['MAIL_FROM'], message: 'is required when SMTP_URL is set' });
    }
  }).safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      // A secret that is wrong may still be close to a right one: never print it.
      const got = SECRETS.has(name) ? `${env[name]?.length ?? 0} characters` : JSON.stringify(env[name]);
      return `${name}: ${issue.message} (got ${got})`;
    });
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  const tracing = tracingConfig(e);
  return {
    port: e.PORT,
    role: e.ROLE,
    metricsPort: e.METRICS_PORT,
    redisUrl: e.REDIS_URL,
    redisSentinels: e.REDIS_SENTINELS
      ? {
          sentinels: e.REDIS_SENTINELS.map((entry) => {
            const at = entry.lastIndexOf(':');
            return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
          }),
          name: e.REDIS_SENTINEL_MASTER,
        }
      : undefined,
    managedRedis: e.MANAGED_REDIS,
    databasePath: e.DATABASE_PATH,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    adminToken: e.ADMIN_TOKEN ?? randomBytes(24).toString('base64url'),
    adminTokenGenerated: e.ADMIN_TOKEN === undefined,
    webhookSecret: e.WEBHOOK_SECRET ?? randomBytes(24).toString('base64url'),
    webhookSecretGenerated: e.WEBHOOK_SECRET === undefined,
    webhookToleranceS: e.WEBHOOK_TOLERANCE_S,
    apiKeys: e.API_KEYS ?? [randomBytes(24).toString('base64url')],
    apiKeysGenerated: e.API_KEYS === undefined,
    clientApiKey: e.API_KEY ?? e.API_KEYS?.[0],
    host: e.HOST,
    corsOrigins: e.CORS_ORIGINS ?? [],
    trustProxy: e.TRUST_PROXY === 'true',
    maxOrderTotalCents: e.MAX_ORDER_TOTAL_CENTS,
    apiKeyRateLimit: e.API_KEY_RATE_LIMIT,
    addressRateLimit: e.ADDRESS_RATE_LIMIT,
    adminAuthFailureLimit: e.ADMIN_AUTH_FAILURE_LIMIT,
    queuePrefix: e.QUEUE_PREFIX,
    workerConcurrency: e.WORKER_CONCURRENCY,
    queueConcurrency: queueConcurrency(e.WORKER_CONCURRENCY, e.QUEUE_CONCURRENCY ?? {}),
    providerTimeoutMs: e.PROVIDER_TIMEOUT_MS,
    paymentLatencyMs: e.PAYMENT_LATENCY_MS,
    paymentTimeoutMs: e.PAYMENT_TIMEOUT_MS,
    stuckAfterMs: e.STUCK_AFTER_MS,
    reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    jobAttempts: e.JOB_ATTEMPTS,
    jobBackoffMs: e.JOB_BACKOFF_MS,
    jobLockMs: e.JOB_LOCK_MS,
    jobStalledIntervalMs: e.JOB_STALLED_INTERVAL_MS,
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    redisSocketTimeoutMs: e.REDIS_SOCKET_TIMEOUT_MS,
    httpHeadersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
    httpRequestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
    maxConnectionsPerAddress: e.MAX_CONNECTIONS_PER_ADDRESS,
    relaySweepMs: e.RELAY_SWEEP_MS,
    relayFailingReadyMs: e.RELAY_FAILING_READY_MS,
    outboxLagReadyMs: e.OUTBOX_LAG_READY_MS,
    completedJobRetentionS: e.COMPLETED_JOB_RETENTION_S,
    completedJobRetentionCount: e.COMPLETED_JOB_RETENTION_COUNT,
    failedJobRetentionS: e.FAILED_JOB_RETENTION_S,
    idempotencyTtlMs: e.IDEMPOTENCY_TTL_MS,
    logLevel: e.LOG_LEVEL,
    mailLeaseMs: e.MAIL_LEASE_MS,
    mail:
      e.SMTP_URL !== undefined && e.MAIL_FROM !== undefined
        ? { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM, fromAddress: mailAddressOf(e.MAIL_FROM)! }
        : undefined,
    tracing,
  };
}

/**
 * Traces are exported only where an endpoint is given (the SDK's own default of localhost:4318 is
 * not assumed: a service nobody pointed anywhere pays nothing), unless OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none. A signal-specific variable wins over the general one.
 */
function tracingConfig(e: z.infer<typeof EnvSchema>): TracingConfig | undefined {
  const url =
    e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (e.OTEL_EXPORTER_OTLP_ENDPOINT === undefined ? undefined : `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`);
  if (url === undefined || e.OTEL_SDK_DISABLED === 'true' || e.OTEL_TRACES_EXPORTER === 'none') return undefined;
  if (e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE > e.OTEL_BSP_MAX_QUEUE_SIZE) {
    throw new ConfigError(
      `invalid configuration: OTEL_BSP_MAX_EXPORT_BATCH_SIZE: must not exceed OTEL_BSP_MAX_QUEUE_SIZE (${e.OTEL_BSP_MAX_QUEUE_SIZE}) (got ${e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE})`,
    );
  }
  return {
    serviceName: e.OTEL_SERVICE_NAME ?? 'orders',
    resourceAttributes: e.OTEL_RESOURCE_ATTRIBUTES ?? {},
    url,
    protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
    headers: { ...e.OTEL_EXPORTER_OTLP_HEADERS, ...e.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
    timeoutMs: e.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? e.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000,
    compression: e.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION ?? e.OTEL_EXPORTER_OTLP_COMPRESSION ?? 'none',
    sampler: e.OTEL_TRACES_SAMPLER,
    samplerRatio: e.OTEL_TRACES_SAMPLER_ARG ?? 1,
    batch: {
      scheduleDelayMs: e.OTEL_BSP_SCHEDULE_DELAY,
      exportTimeoutMs: e.OTEL_BSP_EXPORT_TIMEOUT,
      maxQueueSize: e.OTEL_BSP_MAX_QUEUE_SIZE,
      maxExportBatchSize: e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    },
  };
}

/**
 * Queues whose jobs wait on the outside world (a gateway, a carrier, a mail server) run many jobs
 * at once: a job waiting on a slow provider holds a slot but no CPU and no database lock. Queues
 * whose jobs only touch the database run WORKER_CONCURRENCY at once.
 */
const IO_BOUND_CONCURRENCY: Partial<Record<QueueName, number>> = {
  payment: 200,
  shipping: 50,
  notification: 50,
  refund: 50,
};

function queueConcurrency(fallback: number, overrides: Partial<Record<QueueName, number>>): Record<QueueName, number> {
  return Object.fromEntries(
    QUEUE_NAMES.map((queue) => [queue, overrides[queue] ?? IO_BOUND_CONCURRENCY[queue] ?? fallback]),
  ) as Record<QueueName, number>;
}

/** `payment=200,refund=20`: a queue name and a whole number of slots, comma-separated. */
export function parseQueueConcurrency(text: string): Partial<Record<QueueName, number>> | string {
  const result: Partial<Record<QueueName, number>> = {};
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const match = /^([a-z-]+)=(\d{1,5})$/.exec(part);
    if (!match) return `must be a list like payment=200,refund=20 (bad entry ${JSON.stringify(part.slice(0, 40))})`;
    const [, name, count] = match;
    if (!(QUEUE_NAMES as readonly string[]).includes(name!))
      return `names an unknown queue ${JSON.stringify(name)} (queues: ${QUEUE_NAMES.join(', ')})`;
    if (Number(count) < 1) return `${name} must run at least 1 job at once`;
    result[name as QueueName] = Number(count);
  }
  return result;
}
