/**
 * The variables of the backing services, Redis and the database: each one's validation, default
 * and meaning, written once. config.ts reads them.
 */
import { z } from 'zod';
import { documented, int } from './fields.ts';

const list = (item: RegExp) => (text: string) => text.split(',').every((entry) => item.test(entry.trim()));
const split = (text: string) => text.split(',').map((entry) => entry.trim());

/** Where Redis is, and how long its connections wait. */
export const REDIS_ENV = {
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
export const STORE_ENV = {
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
