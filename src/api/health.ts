/**
 * Liveness and readiness. /healthz answers while the process lives; /readyz says whether the
 * database and Redis can be reached.
 */
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import type { Redis } from 'ioredis';
import type { Db } from '../db/client.ts';

export function healthRoutes(deps: { db: Db; redis?: Redis }): Hono {
  const app = new Hono();

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    const checks = { database: checkDatabase(deps.db), redis: await checkRedis(deps.redis) };
    const ready = checks.database === 'ok' && checks.redis !== 'down';
    return c.json({ status: ready ? 'ready' : 'unavailable', checks }, ready ? 200 : 503);
  });

  return app;
}

function checkDatabase(db: Db): 'ok' | 'down' {
  try {
    db.get(sql`select 1`);
    return 'ok';
  } catch {
    return 'down';
  }
}

async function checkRedis(redis: Redis | undefined): Promise<'ok' | 'down' | 'not used'> {
  if (!redis) return 'not used';
  try {
    const answer = await Promise.race([
      redis.ping(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 1_000).unref()),
    ]);
    return answer === 'PONG' ? 'ok' : 'down';
  } catch {
    return 'down';
  }
}
