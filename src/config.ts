/**
 * The one reader of process.env. Every variable of DESIGN.md "Configuration" is declared once here
 * (or, for OTEL_*, in telemetry/config.ts): its validation, its default and its meaning, from which
 * both `Config` and the README's configuration table (`npm run docs:config`) are made. A bad value
 * stops the process with one line naming the variable.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { docOf, documented, int } from './config-fields.ts';
import { QUEUE_NAMES, type QueueName } from './queues/routing.ts';
import { checkOtelEnv, OTEL_ENV, tracingConfig } from './telemetry/config.ts';

export { SAMPLERS, type TracingConfig } from './telemetry/config.ts';

const list = (item: RegExp) => (text: string) => text.split(',').every((entry) => item.test(entry.trim()));
const split = (text: string) => text.split(',').map((entry) => entry.trim());

/** The process as a whole. */
const PROCESS_ENV = {
  ROLE: documented(z.enum(['all', 'api', 'worker'], { error: 'must be one of all, api, worker' }).default('all'), {
    description:
      '`all` runs the API and every worker in one process; `api` only the API; `worker` only the workers. The outbox relay runs in every role.',
  }),
  LOG_LEVEL: documented(
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'must be one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
    { description: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.' },
  ),
};

/** The HTTP listeners: where, and their bounds on slow or greedy clients. */
const HTTP_ENV = {
  PORT: documented(
    int(3000, 0).refine((p) => p <= 65535, { error: 'must be a port number (0-65535)' }),
    {
      description: 'HTTP port of the API (0-65535).',
    },
  ),
  HOST: documented(
    z
      .string()
      .regex(/^[A-Za-z0-9.:_-]{1,253}$/, { error: 'must be an IP address or a host name' })
      .default('127.0.0.1'),
    {
      description:
        "Address the API (and a worker's `METRICS_PORT`) listens on: `0.0.0.0` (or `::`) for every interface, as the Docker image sets it. The start log says the address bound.",
    },
  ),
  METRICS_PORT: documented(
    z.coerce
      .number({ error: 'must be a number' })
      .int({ error: 'must be a whole number' })
      .min(0, { error: 'must be a port number (0-65535)' })
      .max(65535, { error: 'must be a port number (0-65535)' })
      .optional(),
    {
      description:
        'For a `ROLE=worker` process: serve `/healthz`, `/readyz` and `/metrics` (its own job series) on this port. Unset: a worker process serves no HTTP.',
    },
  ),
  HTTP_HEADERS_TIMEOUT_MS: documented(int(10_000, 100), {
    description: 'A client must send its request headers within this long, or its connection is closed.',
  }),
  HTTP_REQUEST_TIMEOUT_MS: documented(int(30_000, 100), {
    description:
      'A client must send its whole request (headers and body) within this long, or its connection is closed (`408`): a body that trickles in holds no connection for long.',
  }),
  MAX_CONNECTIONS_PER_ADDRESS: documented(int(256, 0), {
    description:
      'Open HTTP connections one client address may hold; a connection beyond it is closed at once, unread. Not applied with `TRUST_PROXY=true` (every connection then comes from the proxy); `0`: no cap.',
  }),
  TRUST_PROXY: documented(z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'), {
    description:
      "`true`: take the client address from the last entry of `X-Forwarded-For` (set it only behind a proxy that appends it); else the TCP peer's address.",
  }),
  CORS_ORIGINS: documented(
    z
      .string()
      .transform(split)
      .refine((origins) => origins.every(isOrigin), {
        error: 'must be a comma-separated list of origins such as https://shop.example (scheme, host, optional port; no path)',
      })
      .optional(),
    {
      description:
        'Comma-separated origins (`https://shop.example`) whose browsers may call the client routes; the service answers their preflights. Unset: no CORS.',
    },
  ),
};

/** The API's keys, limits and what it remembers. */
const API_ENV = {
  ADMIN_TOKEN: documented(z.string().min(16, { error: 'must be at least 16 characters' }).optional(), {
    description:
      'Bearer token for `/admin/*`, at least 16 characters. When unset, a random one is generated and logged at start (it changes at every start).',
    unset: 'generated',
    secret: true,
  }),
  WEBHOOK_SECRET: documented(z.string().min(16, { error: 'must be at least 16 characters' }).optional(), {
    description:
      'HMAC-SHA256 key for `X-Signature` on `/webhooks/carrier`, at least 16 characters. When unset, a random one is generated and logged at start.',
    unset: 'generated',
    secret: true,
  }),
  WEBHOOK_TOLERANCE_S: documented(int(300, 1), {
    description:
      "How far, in seconds, a carrier delivery's signed timestamp may be from now before it is refused (`401`) as a replay.",
  }),
  API_KEYS: documented(
    z
      .string()
      .transform(split)
      .refine((keys) => keys.every((key) => /^[\x21-\x7e]{16,}$/.test(key)), {
        error: 'must be a comma-separated list of keys, each at least 16 visible ASCII characters',
      })
      .optional(),
    {
      description:
        'Comma-separated keys for the client routes (`/orders…`), each at least 16 visible ASCII characters; one per storefront, several at once so that a key is rotated without downtime. When unset, one is generated and logged at start (`apiKey`).',
      unset: 'generated',
      secret: true,
    },
  ),
  API_KEY: documented(
    z
      .string()
      .regex(/^[\x21-\x7e]{16,}$/, { error: 'must be at least 16 visible ASCII characters' })
      .optional(),
    { description: "For the CLI's `load`: the key it sends (else the first of `API_KEYS`).", secret: true },
  ),
  MAX_ORDER_TOTAL_CENTS: documented(int(10_000_000, 1), {
    description: 'An order whose total is over this is refused with `422`.',
  }),
  API_KEY_RATE_LIMIT: documented(int(5_000, 0), {
    description: 'Requests a second per API key on the client routes, over every API process; `0`: no limit.',
  }),
  ADDRESS_RATE_LIMIT: documented(int(60, 0), {
    description: 'Requests a minute per client address on the client routes without a valid API key; `0`: no limit.',
  }),
  ADMIN_AUTH_FAILURE_LIMIT: documented(int(10, 0), {
    description:
      'Wrong admin credentials a minute per client address, after which that address is refused (`429`) until the minute is over; `0`: no limit.',
  }),
  IDEMPOTENCY_TTL_MS: documented(int(24 * 60 * 60 * 1000, 1), {
    description: 'How long an `Idempotency-Key` is remembered (24 h).',
  }),
};

/** Where Redis is, and how long its connections wait. */
const REDIS_ENV = {
  REDIS_URL: documented(z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(), {
    // A Redis URL carries its password.
    description:
      '`redis://` or `rediss://` URL. Unset: use `redis://127.0.0.1:6379` if it answers, else the managed `redis-server` another process of this deployment started (its URL in `redis/redis.url` beside the database file), else start one from the `PATH` with its data in `redis/` beside the database file.',
    secret: true,
  }),
  REDIS_SENTINELS: documented(
    z
      .string()
      .refine(list(/^[A-Za-z0-9.-]{1,253}:\d{1,5}$/), { error: 'must be a comma-separated list of host:port' })
      .transform(split)
      .optional(),
    {
      description:
        "`host:port,host:port`: find Redis through these Sentinels instead of `REDIS_URL` (which it wins over); the service asks them for the master named `REDIS_SENTINEL_MASTER`, and follows a failover to the new master by itself. No password for the sentinels or the master yet; the CLI does not read it (give the CLI the master's `--redis-url`).",
    },
  ),
  REDIS_SENTINEL_MASTER: documented(
    z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/, { error: 'must be a master name (letters, digits, . _ -)' })
      .default('mymaster'),
    { description: "The master's name in the sentinels' configuration (`sentinel monitor <name> …`)." },
  ),
  MANAGED_REDIS: documented(z.enum(['auto', 'always'], { error: 'must be one of auto, always' }).default('auto'), {
    description:
      'With `REDIS_URL` unset: `auto` uses `redis://127.0.0.1:6379` when it answers, else the managed `redis-server`; `always` uses the managed one even when something answers on 6379 (the tests use it, as does a machine whose 6379 belongs to someone else).',
  }),
  REDIS_COMMAND_TIMEOUT_MS: documented(int(2_000, 100), {
    description:
      'Every Redis command made for an HTTP answer (`/metrics`, the dashboard) or by the outbox relay gives up after this long, so that a frozen Redis holds no request.',
  }),
  REDIS_SOCKET_TIMEOUT_MS: documented(int(10_000, 500), {
    description:
      "A Redis connection that hears nothing back for this long while a command waits is taken for dead (half-open: a lost NAT entry, a balancer whose upstream moved; a frozen Redis looks the same), dropped and made again, and its waiting commands are sent again; logged as `connection to Redis went silent; reconnecting` (at least 500). It must exceed the longest command a healthy Redis takes; BullMQ's blocking waits (up to 10 s) are on their own connections, watched by BullMQ.",
  }),
};

/** The database. */
const STORE_ENV = {
  DATABASE_PATH: documented(z.string().min(1, { error: 'must not be empty' }).default('data/orders.db'), {
    description:
      'SQLite file, when `DATABASE_URL` is unset; its directory is created and migrations are applied at start. Every process of one deployment uses the same file.',
  }),
  DATABASE_URL: documented(
    z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' }).optional(),
    {
      description:
        '`postgres://user:password@host:5432/db`: the store is PostgreSQL instead of SQLite (see "Running on several hosts"). Migrations are applied at start, under an advisory lock. A malformed URL or a server that cannot be reached at start is a one-line error.',
      secret: true,
    },
  ),
  DATABASE_POOL_SIZE: documented(
    int(10, 1).refine((n) => n <= 1000, { error: 'must be at most 1000' }),
    { description: 'PostgreSQL connections each process may hold (1–1000).' },
  ),
};

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

/** The queues, their jobs and the workers that run them; the providers jobs call; the reconciler. */
const JOBS_ENV = {
  QUEUE_PREFIX: documented(
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,40}$/, { error: 'must be 1-40 letters, digits, _ or -' })
      .default('orders'),
    {
      description:
        "Prefix of the BullMQ keys in Redis (1-40 letters, digits, `_`, `-`); lets several deployments share one Redis. A prefix belongs to one database: the first process claims it in Redis (key `<prefix>:deployment`) with its database's identity, and a process whose database is another refuses to start, naming the prefix and its holder and how to release a stale claim. Every process renews the claim every 5 s, so it survives Redis restarting empty, and a claim nobody renews lapses after 30 s; a claim this host made for the same database location whose database is no longer there (`rm -rf data && npm start`) is taken over at start; `orders release-prefix` releases any other stale one ([docs/cli.md](docs/cli.md#a-queue-prefix-that-stays-claimed)). A conflict found later is logged, counted (`orders_queue_prefix_conflict`) and shown by `/readyz`.",
    },
  ),
  WORKER_CONCURRENCY: documented(int(8, 1), {
    description:
      'Jobs run at once, per process, by the queues whose jobs only touch the database (`inventory`, `payment-deadline`).',
  }),
  QUEUE_CONCURRENCY: documented(
    z
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
    {
      description:
        'Jobs run at once, per process, by the queues whose jobs wait on the outside world; a comma-separated list of `queue=n` that overrides these defaults (or `WORKER_CONCURRENCY` for the others). A job waiting on a slow provider holds a slot but no CPU and no database lock, so these are high: a gateway hanging on a hundred charges delays no other order.',
      unset: `\`${Object.entries(IO_BOUND_CONCURRENCY)
        .map(([queue, n]) => `${queue}=${n}`)
        .join(',')}\``,
    },
  ),
  PROVIDER_TIMEOUT_MS: documented(int(10_000, 1), {
    description:
      "How long one call to the payment gateway, the carrier or the notifier may take; past it the call fails as a transient error and the job retries with backoff (the provider's idempotency key makes the retry safe).",
  }),
  PAYMENT_LATENCY_MS: documented(int(0), { description: 'Delay the sandbox payment gateway adds to every answer.' }),
  PAYMENT_TIMEOUT_MS: documented(int(30_000, 1), {
    description:
      "An order whose gateway has not answered this long after the charge was requested fails with `PAYMENT_TIMEOUT`; an answer recorded later is late even if the deadline's job was lost with Redis. The sandbox's `tok_slow` answers 500 ms later than this.",
  }),
  STUCK_AFTER_MS: documented(int(60_000, 1), {
    description:
      'An order that has not moved for this long, and has nothing on its way to a queue, is re-driven by the reconciler.',
  }),
  RECONCILE_INTERVAL_MS: documented(int(10_000, 10), {
    description: 'How often (at least 10 ms) the reconciler looks for stuck orders. It runs in `all` and `worker` processes.',
  }),
  SHUTDOWN_GRACE_MS: documented(int(10_000, 0), {
    description:
      'On `SIGTERM`/`SIGINT`, how long workers wait for their active jobs; a job still running after that is handed to another worker once its lock expires.',
  }),
  JOB_ATTEMPTS: documented(int(10, 1), {
    description:
      "Attempts per job (the first included) before it is left in the queue's failed set and recorded on the order's timeline as `JobFailed`.",
  }),
  JOB_BACKOFF_MS: documented(int(500, 1), { description: 'Base delay of the exponential backoff between attempts.' }),
  JOB_LOCK_MS: documented(int(30_000, 500), {
    description:
      'Lock duration of an active job (at least 500). A worker that dies mid-job loses its jobs to another worker between `JOB_LOCK_MS` and `JOB_LOCK_MS + JOB_STALLED_INTERVAL_MS` after it died: the lock must expire, then the next stalled-job check finds it.',
  }),
  JOB_STALLED_INTERVAL_MS: documented(int(5_000, 100), {
    description: 'How often workers look for active jobs whose lock expired (at least 100).',
  }),
  COMPLETED_JOB_RETENTION_S: documented(int(60 * 60, 0), {
    description: 'How long completed jobs are kept in Redis (for the dashboard); `0`: none is kept. See "Sizing Redis" below.',
  }),
  COMPLETED_JOB_RETENTION_COUNT: documented(int(50_000, 0), {
    description: 'At most this many completed jobs kept per queue; `0`: none.',
  }),
  FAILED_JOB_RETENTION_S: documented(int(7 * 24 * 60 * 60, 60), {
    description: 'How long failed jobs wait in the failed set for an operator (a week; at least 60).',
  }),
};

/** The outbox relay, and when its falling behind makes a process not ready. */
const OUTBOX_ENV = {
  RELAY_SWEEP_MS: documented(int(1_000, 10), {
    description:
      "How often (at least 10 ms) the relay sweeps the outbox for events still not queued after that long (any process's), beside dispatching its own process's events after each commit.",
  }),
  RELAY_FAILING_READY_MS: documented(int(30_000, 100), {
    description:
      "Once every pass of a process's outbox relay has failed for this long (Redis away or out of memory, the database unreadable), the process logs it once at error level and `/readyz` answers `503` with `relay`: `failing` or `out of memory` (at least 100).",
  }),
  OUTBOX_LAG_READY_MS: documented(int(120_000, 0), {
    description:
      '`/readyz` answers `503` with `outbox`: `lagging` while the oldest event not yet queued is older than this (the relays of every process have fallen behind); `0`: no bound.',
  }),
};

/** Customer messages by email. */
const MAIL_ENV = {
  SMTP_URL: documented(
    z
      .url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' })
      // No credentials at all is a relay or a development catcher; half of them is a typo.
      .refine((url) => !URL.canParse(url) || (new URL(url).username === '') === (new URL(url).password === ''), {
        error: 'must carry both a user and a password, or neither: smtp://user:password@host:port or smtp://host:port',
      })
      .optional(),
    {
      description:
        'Send customer messages by email: `smtp://user:password@host:port` (STARTTLS when the server offers it) or `smtps://user:password@host:465` (TLS from the start); without credentials (`smtp://127.0.0.1:25`) for a local relay or a development catcher that asks for no login. A password sent over `smtp://` to a host other than this one is logged as a warning at start (it travels in plain text unless the server offers STARTTLS). Unset: every message goes to the sandbox notifier only. Never echoed in a configuration error. See [Email](#email).',
      secret: true,
    },
  ),
  MAIL_FROM: documented(
    z
      .string()
      .refine((from) => mailAddressOf(from) !== undefined, { error: 'must be an address, or Name <address>' })
      .optional(),
    {
      description:
        'The `From` of every email, `orders@shop.example` or `Shop <orders@shop.example>`; required with `SMTP_URL`. Its domain names the Message-IDs.',
    },
  ),
  MAIL_LEASE_MS: documented(int(60_000, 1_000), {
    description:
      'How long one run holds an (order, kind) while emailing it (at least 1000): longer than a send can take (about 30 s at most). A run paused past 80 % of it gives up before the end of DATA, since another run may have taken over.',
  }),
};

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
