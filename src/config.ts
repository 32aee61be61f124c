/**
 * The one reader of process.env. Every variable of DESIGN.md "Configuration" is declared once, by
 * group, in config/ (OTEL_* in telemetry/config.ts): its validation, its default and its meaning.
 * This module composes them into one schema, whose output is `Config` and from which the README's
 * configuration tables are generated (`npm run docs:config`). A bad value stops the process with
 * one line naming the variable.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { API_ENV, HTTP_ENV, PROCESS_ENV } from './config/http.ts';
import { REDIS_ENV, STORE_ENV } from './config/backends.ts';
import { docOf } from './config/fields.ts';
import { JOBS_ENV, MAIL_ENV, OUTBOX_ENV, mailAddressOf, queueConcurrency } from './config/jobs.ts';
import { WEBHOOKS_ENV, webhooksConfig } from './config/webhooks.ts';
import { checkOtelEnv, OTEL_ENV, tracingConfig } from './telemetry/config.ts';

export { parseQueueConcurrency } from './config/jobs.ts';
export { SAMPLERS, type TracingConfig } from './telemetry/config.ts';

/** The variables by group, titled, in the order of the README's configuration table (`npm run docs:config`). */
export const CONFIG_GROUPS: readonly { title: string; variables: Record<string, z.ZodType> }[] = [
  { title: 'The process', variables: PROCESS_ENV },
  { title: 'HTTP', variables: HTTP_ENV },
  { title: 'The API: keys and limits', variables: API_ENV },
  { title: 'Redis', variables: REDIS_ENV },
  { title: 'The database', variables: STORE_ENV },
  { title: 'Jobs, workers and the reconciler', variables: JOBS_ENV },
  { title: 'The outbox relay', variables: OUTBOX_ENV },
  { title: 'Email', variables: MAIL_ENV },
  { title: 'Outbound webhooks', variables: WEBHOOKS_ENV },
  { title: 'Traces (OpenTelemetry)', variables: OTEL_ENV },
];

const EnvSchema = z.object({
  ...PROCESS_ENV,
  ...HTTP_ENV,
  ...API_ENV,
  ...REDIS_ENV,
  ...STORE_ENV,
  ...JOBS_ENV,
  ...OUTBOX_ENV,
  ...MAIL_ENV,
  ...WEBHOOKS_ENV,
  ...OTEL_ENV,
});

/** The environment read into the service's settings, grouped as the variables are. */
const ConfigSchema = EnvSchema.superRefine((e, ctx) => {
  if (e.SMTP_URL !== undefined && e.MAIL_FROM === undefined) {
    ctx.addIssue({ code: 'custom', path: ['MAIL_FROM'], message: 'is required when SMTP_URL is set' });
  }
  checkOtelEnv(e, ctx);
}).transform((e) => ({
  role: e.ROLE,
  logLevel: e.LOG_LEVEL,
  http: {
    port: e.PORT,
    host: e.HOST,
    metricsPort: e.METRICS_PORT,
    httpHeadersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
    httpRequestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
    maxConnectionsPerAddress: e.MAX_CONNECTIONS_PER_ADDRESS,
    trustProxy: e.TRUST_PROXY === 'true',
    corsOrigins: e.CORS_ORIGINS ?? [],
  },
  api: {
    adminToken: e.ADMIN_TOKEN ?? randomBytes(24).toString('base64url'),
    /** True when the token was made up at start and must be shown to the operator. */
    adminTokenGenerated: e.ADMIN_TOKEN === undefined,
    webhookSecret: e.WEBHOOK_SECRET ?? randomBytes(24).toString('base64url'),
    webhookSecretGenerated: e.WEBHOOK_SECRET === undefined,
    webhookToleranceS: e.WEBHOOK_TOLERANCE_S,
    apiKeys: e.API_KEYS ?? [randomBytes(24).toString('base64url')],
    apiKeysGenerated: e.API_KEYS === undefined,
    /** The key the CLI sends to the client routes: API_KEY, else the first of API_KEYS when set. */
    clientApiKey: e.API_KEY ?? e.API_KEYS?.[0],
    maxOrderTotalCents: e.MAX_ORDER_TOTAL_CENTS,
    /** How many days after delivery a return may be opened. */
    returnWindowDays: e.RETURN_WINDOW_DAYS,
    apiKeyRateLimit: e.API_KEY_RATE_LIMIT,
    addressRateLimit: e.ADDRESS_RATE_LIMIT,
    adminAuthFailureLimit: e.ADMIN_AUTH_FAILURE_LIMIT,
    idempotencyTtlMs: e.IDEMPOTENCY_TTL_MS,
  },
  redis: {
    redisUrl: e.REDIS_URL,
    /** Redis through Sentinel, which wins over REDIS_URL: the sentinels and the master's name. */
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
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    redisSocketTimeoutMs: e.REDIS_SOCKET_TIMEOUT_MS,
  },
  store: {
    databasePath: e.DATABASE_PATH,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
  },
  jobs: {
    queuePrefix: e.QUEUE_PREFIX,
    workerConcurrency: e.WORKER_CONCURRENCY,
    /** Jobs each worker process runs at once, per queue (QUEUE_CONCURRENCY over the defaults). */
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
    completedJobRetentionS: e.COMPLETED_JOB_RETENTION_S,
    completedJobRetentionCount: e.COMPLETED_JOB_RETENTION_COUNT,
    failedJobRetentionS: e.FAILED_JOB_RETENTION_S,
  },
  outbox: {
    relaySweepMs: e.RELAY_SWEEP_MS,
    relayFailingReadyMs: e.RELAY_FAILING_READY_MS,
    outboxLagReadyMs: e.OUTBOX_LAG_READY_MS,
  },
  mail: {
    /** Set when SMTP_URL is (MAIL_FROM is then required); unset, messages go to the sandbox notifier only. */
    smtp:
      e.SMTP_URL !== undefined && e.MAIL_FROM !== undefined
        ? { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM, fromAddress: mailAddressOf(e.MAIL_FROM)! }
        : undefined,
    mailLeaseMs: e.MAIL_LEASE_MS,
  },
  webhooks: webhooksConfig(e),
  /** Unset unless an OTLP endpoint is configured. */
  tracing: tracingConfig(e),
}));

/** The service's settings: what ConfigSchema makes of the environment. */
export type Config = z.output<typeof ConfigSchema>;
export type Role = Config['role'];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads and validates the environment; throws ConfigError with one line per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "unset", as it does in most shells' and compose files' eyes.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = ConfigSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    const variable = EnvSchema.shape[name as keyof typeof EnvSchema.shape];
    // A secret that is wrong may still be close to a right one: never print it.
    const got = variable && docOf(variable)?.secret ? `${env[name]?.length ?? 0} characters` : JSON.stringify(env[name]);
    return `${name}: ${issue.message} (got ${got})`;
  });
  throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
}
