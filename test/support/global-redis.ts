/**
 * One private redis-server for each project that runs against servers (sqlite, postgres), on a
 * free port, so that no test depends on (or touches) a shared Redis. Each test still uses its own
 * queue prefix and database file.
 */
import type { TestProject } from 'vitest/node';
import { startRedisServer } from './redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisPort: number;
  }
}

export default async function setup(project: TestProject) {
  const redis = await startRedisServer();
  project.provide('redisUrl', redis.url);
  project.provide('redisPort', redis.port);
  return async () => {
    await redis.stop();
  };
}
