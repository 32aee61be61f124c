/**
 * The one reader of process.env. Every variable of DESIGN.md "Configuration" is validated here at
 * start; a bad value stops the process with one line naming the variable.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

const int = (fallback: number, min = 0) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .default(fallback);

const EnvSchema = z.object({
  PORT: int(3000, 0).refine((p) => p <= 65535, { error: 'must be a port number (0-65535)' }),
  METRICS_PORT: z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(0, { error: 'must be a port number (0-65535)' })
    .max(65535, { error: 'must be a port number (0-65535)' })
    .optional(),
  ROLE: z.enum(['all', 'api', 'worker'], { error: 'must be one of all, api, worker' }).default('all'),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' })
    .optional(),
  DATABASE_PATH: z.string().min(1, { error: 'must not be empty' }).default('data/orders.db'),
  ADMIN_TOKEN: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
  WEBHOOK_SECRET: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
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
  PAYMENT_LATENCY_MS: int(0),
  PAYMENT_TIMEOUT_MS: int(30_000, 1),
  STUCK_AFTER_MS: int(60_000, 1),
  RECONCILE_INTERVAL_MS: int(10_000, 10),
  SHUTDOWN_GRACE_MS: int(10_000, 0),
  JOB_ATTEMPTS: int(10, 1),
  JOB_BACKOFF_MS: int(500, 1),
  JOB_LOCK_MS: int(30_000, 500),
  RELAY_SWEEP_MS: int(1_000, 10),
  IDEMPOTENCY_TTL_MS: int(24 * 60 * 60 * 1000, 1),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
});

/** `https://shop.example` or `http://localhost:5173`: what a browser sends in `Origin`. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return /^https?:$/.test(url.protocol) && url.origin === value;
  } catch {
    return false;
  }
}

const SECRETS = new Set(['ADMIN_TOKEN', 'WEBHOOK_SECRET', 'API_KEYS', 'API_KEY']);

export type Role = 'all' | 'api' | 'worker';

export interface Config {
  port: number;
  role: Role;
  /** Where a ROLE=worker process serves /healthz, /readyz and /metrics; unset: it serves nothing. */
  metricsPort: number | undefined;
  /** Unset: use a Redis on 127.0.0.1:6379, or start a managed one. */
  redisUrl: string | undefined;
  databasePath: string;
  adminToken: string;
  /** True when the token was made up at start and must be shown to the operator. */
  adminTokenGenerated: boolean;
  webhookSecret: string;
  webhookSecretGenerated: boolean;
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
  relaySweepMs: number;
  idempotencyTtlMs: number;
  logLevel: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads and validates the environment; throws ConfigError with one line per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "unset", as it does in most shells' and compose files' eyes.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = EnvSchema.safeParse(present);
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
  return {
    port: e.PORT,
    role: e.ROLE,
    metricsPort: e.METRICS_PORT,
    redisUrl: e.REDIS_URL,
    databasePath: e.DATABASE_PATH,
    adminToken: e.ADMIN_TOKEN ?? randomBytes(24).toString('base64url'),
    adminTokenGenerated: e.ADMIN_TOKEN === undefined,
    webhookSecret: e.WEBHOOK_SECRET ?? randomBytes(24).toString('base64url'),
    webhookSecretGenerated: e.WEBHOOK_SECRET === undefined,
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
    paymentLatencyMs: e.PAYMENT_LATENCY_MS,
    paymentTimeoutMs: e.PAYMENT_TIMEOUT_MS,
    stuckAfterMs: e.STUCK_AFTER_MS,
    reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    jobAttempts: e.JOB_ATTEMPTS,
    jobBackoffMs: e.JOB_BACKOFF_MS,
    jobLockMs: e.JOB_LOCK_MS,
    relaySweepMs: e.RELAY_SWEEP_MS,
    idempotencyTtlMs: e.IDEMPOTENCY_TTL_MS,
    logLevel: e.LOG_LEVEL,
  };
}
