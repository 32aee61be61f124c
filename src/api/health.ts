/**
 * Liveness, readiness and metrics. /healthz answers while the process lives; /readyz says whether
 * the database takes writes, Redis answers (on the producers' connection and, where workers run,
 * on theirs: one of the two can be dead while the other works) and the queue prefix is this
 * database's; /metrics is
 * the Prometheus scrape. None of them waits on a frozen Redis or database for more than a couple of seconds.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { withDeadline } from '../lib/deadline.ts';
import type { Db } from '../db/client.ts';
import { outboxLagMs } from '../db/outbox.ts';
import { checkStorage, type StorageState } from '../db/service-meta.ts';
import type { RelayHealth } from '../relay.ts';
import type { ServiceMetrics } from '../metrics.ts';
import { createRouter } from './router.ts';
import { json } from './schemas.ts';

const CHECK_TIMEOUT_MS = 1_000;

/** The database check writes in a transaction: a little longer, still well inside a probe's timeout. */
const DATABASE_CHECK_TIMEOUT_MS = 2_000;

const Check = z.enum(['ok', 'down', 'not used']);
const ReadinessSchema = z
  .object({
    status: z.enum(['ready', 'unavailable']),
    clockOffsetMs: z
      .number()
      .optional()
      .openapi({ description: "How far Redis's clock is ahead of this host's, in ms (negative: this host is ahead)." }),
    checks: z.object({
      database: z
        .enum(['ok', 'down', 'unwritable'])
        .openapi({ description: '`unwritable`: reads work, writes fail (a full disk, an I/O error).' }),
      redis: Check,
      workers: Check.openapi({
        description:
          "The workers' own Redis connection: `down` while it does not answer (a half-open connection is dropped and made again within `REDIS_SOCKET_TIMEOUT_MS`); `not used` where no worker runs.",
      }),
      relay: z.enum(['ok', 'failing', 'out of memory', 'not used']).openapi({
        description:
          'The outbox relay: `failing` once every pass has failed for `RELAY_FAILING_READY_MS` (orders are not moving), `out of memory` when that is because Redis is at `maxmemory`.',
      }),
      outbox: z.enum(['ok', 'lagging', 'down']).openapi({
        description: '`lagging`: the oldest event not yet queued is older than `OUTBOX_LAG_READY_MS`.',
      }),
      clock: z.enum(['ok', 'skewed', 'not used']).openapi({
        description:
          "`skewed`: this host's clock is more than 2 s from Redis's (the offset is in `clockOffsetMs`). Deadlines and timelines use Redis's clock, so this alone does not make the process unavailable; fix the host's time.",
      }),
      queuePrefix: z
        .enum(['ok', 'conflict'])
        .openapi({ description: '`conflict`: another database claims this QUEUE_PREFIX on the same Redis.' }),
    }),
  })
  .openapi('Readiness');

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  operationId: 'getHealth',
  tags: ['Operations'],
  summary: 'Liveness: 200 while the process lives',
  description: 'Answers 200 as long as the process can serve HTTP; it checks nothing else.',
  responses: { 200: { description: 'Alive.', ...json(z.object({ status: z.literal('ok') })) } },
});

const readyRoute = createRoute({
  method: 'get',
  path: '/readyz',
  operationId: 'getReadiness',
  tags: ['Operations'],
  summary: 'Readiness: the database takes writes and Redis answers',
  description:
    'Answers 200 when the database takes writes, Redis answers and the queue prefix belongs to this database; 503 with what failed otherwise.',
  responses: {
    200: { description: 'Both answer.', ...json(ReadinessSchema) },
    503: {
      description: 'The database cannot be read or written, Redis does not answer, or the queue prefix is another database’s.',
      ...json(ReadinessSchema),
    },
  },
});

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  operationId: 'getMetrics',
  tags: ['Operations'],
  summary: 'Prometheus metrics',
  description: 'Request, job, queue and order series in the Prometheus text format, for a scraper.',
  responses: {
    200: {
      description: 'Prometheus text exposition format.',
      content: { 'text/plain': { schema: z.string() } },
    },
  },
});

export interface HealthDeps {
  db: Db;
  redis?: Redis;
  /** The workers' connection, where workers run. */
  workerRedis?: Redis;
  metrics?: ServiceMetrics;
  /** True while another database claims this queue prefix. */
  prefixConflict?: () => boolean;
  /** The deployment's clock, as this process reads it. */
  clock?: { offsetMs: number; skewed: boolean };
  /** This process's outbox relay. */
  relay?: { health(): RelayHealth };
  /** The oldest undispatched outbox event may be this old before the process is not ready; 0: no bound. */
  outboxLagLimitMs?: number;
  logger?: Logger;
}

export function healthRoutes(deps: HealthDeps) {
  const app = createRouter();

  app.openapi(healthRoute, (c) => c.json({ status: 'ok' as const }, 200));

  // A change of the relay's or the outbox's verdict is logged once, whoever probes.
  let lastVerdict = 'ok/ok';
  app.openapi(readyRoute, async (c) => {
    const checks = {
      database: await checkDatabase(deps.db),
      redis: await checkRedis(deps.redis),
      workers: await checkRedis(deps.workerRedis),
      relay: deps.relay ? deps.relay.health().state : ('not used' as const),
      outbox: await checkOutbox(deps.db, deps.outboxLagLimitMs ?? 0),
      clock: deps.clock ? (deps.clock.skewed ? ('skewed' as const) : ('ok' as const)) : ('not used' as const),
      queuePrefix: deps.prefixConflict?.() ? ('conflict' as const) : ('ok' as const),
    };
    const verdict = `${checks.relay === 'not used' ? 'ok' : checks.relay}/${checks.outbox}`;
    if (verdict !== lastVerdict) {
      if (verdict === 'ok/ok') deps.logger?.info({ checks }, 'outbox relay and outbox are healthy again');
      else if (checks.relay === 'out of memory') {
        deps.logger?.error(
          { checks },
          'not ready: Redis is out of memory, the relay cannot queue jobs and orders are not moving',
        );
      } else deps.logger?.error({ checks }, 'not ready: the outbox relay is failing or the outbox lags; orders are not moving');
      lastVerdict = verdict;
    }
    const ready =
      checks.database === 'ok' &&
      checks.redis !== 'down' &&
      checks.workers !== 'down' &&
      (checks.relay === 'ok' || checks.relay === 'not used') &&
      checks.outbox === 'ok' &&
      checks.queuePrefix === 'ok';
    const offset = deps.clock ? { clockOffsetMs: deps.clock.offsetMs } : {};
    return ready
      ? c.json({ status: 'ready' as const, ...offset, checks }, 200)
      : c.json({ status: 'unavailable' as const, ...offset, checks }, 503);
  });

  const { metrics } = deps;
  if (metrics) {
    app.openapi(metricsRoute, async (c) =>
      c.text(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }),
    );
  }

  return app;
}

/** The database's state, or `down` when it does not answer in time (a frozen server). */
async function checkDatabase(db: Db): Promise<StorageState> {
  try {
    return await withDeadline(checkStorage(db), DATABASE_CHECK_TIMEOUT_MS, () => new Error('timeout'));
  } catch {
    return 'down';
  }
}

/** Whether the oldest event not yet queued is younger than `limitMs` (0: no bound). */
async function checkOutbox(db: Db, limitMs: number): Promise<'ok' | 'lagging' | 'down'> {
  if (limitMs <= 0) return 'ok';
  try {
    const lag = await withDeadline(outboxLagMs(db, Date.now()), DATABASE_CHECK_TIMEOUT_MS, () => new Error('timeout'));
    return lag > limitMs ? 'lagging' : 'ok';
  } catch {
    return 'down';
  }
}

async function checkRedis(redis: Redis | undefined): Promise<'ok' | 'down' | 'not used'> {
  if (!redis) return 'not used';
  try {
    const answer = await withDeadline(redis.ping(), CHECK_TIMEOUT_MS, () => new Error('timeout'));
    return answer === 'PONG' ? 'ok' : 'down';
  } catch {
    return 'down';
  }
}
