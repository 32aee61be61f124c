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
  MANAGED_REDIS: z.enum(['auto', 'always'], { error: 'must be one of auto, always' }).default('auto'),
  DATABASE_PATH: z.string().min(1, { error: 'must not be empty' }).default('data/orders.db'),
  ADMIN_TOKEN: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
  WEBHOOK_SECRET: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
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

export type Role = 'all' | 'api' | 'worker';

export interface Config {
  port: number;
  role: Role;
  /** Where a ROLE=worker process serves /healthz, /readyz and /metrics; unset: it serves nothing. */
  metricsPort: number | undefined;
  /** Unset: use a Redis on 127.0.0.1:6379, or start a managed one. */
  redisUrl: string | undefined;
  /** With REDIS_URL unset: `auto` tries 127.0.0.1:6379 before the managed redis-server, `always` goes straight to it. */
  managedRedis: 'auto' | 'always';
  databasePath: string;
  adminToken: string;
  /** True when the token was made up at start and must be shown to the operator. */
  adminTokenGenerated: boolean;
  webhookSecret: string;
  webhookSecretGenerated: boolean;
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
    const lines = parsed.error.issues.map(
      (issue) => `${String(issue.path[0])}: ${issue.message} (got ${JSON.stringify(env[String(issue.path[0])])})`,
    );
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    role: e.ROLE,
    metricsPort: e.METRICS_PORT,
    redisUrl: e.REDIS_URL,
    managedRedis: e.MANAGED_REDIS,
    databasePath: e.DATABASE_PATH,
    adminToken: e.ADMIN_TOKEN ?? randomBytes(24).toString('base64url'),
    adminTokenGenerated: e.ADMIN_TOKEN === undefined,
    webhookSecret: e.WEBHOOK_SECRET ?? randomBytes(24).toString('base64url'),
    webhookSecretGenerated: e.WEBHOOK_SECRET === undefined,
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
