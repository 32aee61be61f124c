/**
 * The variables of the jobs (queues, workers, providers, the reconciler), the outbox relay and
 * email: each one's validation, default and meaning, written once. config.ts reads them.
 */
import { z } from 'zod';
import { QUEUE_NAMES, type QueueName } from '../queues/routing.ts';
import { documented, int } from './fields.ts';

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
  // The fan-out only queues delivery attempts; the attempts have their own WEBHOOK_CONCURRENCY.
  webhook: 20,
};

/** The queues, their jobs and the workers that run them; the providers jobs call; the reconciler. */
export const JOBS_ENV = {
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
export const OUTBOX_ENV = {
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
export const MAIL_ENV = {
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

/** The bare address of `a@b.example` or `Name <a@b.example>`; undefined when it is neither. */
export function mailAddressOf(from: string): string | undefined {
  if (/[\x00-\x1f\x7f]/.test(from)) return undefined;
  const address = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from;
  return z.email().safeParse(address.trim()).success ? address.trim() : undefined;
}

export function queueConcurrency(fallback: number, overrides: Partial<Record<QueueName, number>>): Record<QueueName, number> {
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
