/**
 * What the container image carries, read from the Dockerfile (no Docker daemon is needed), and its
 * HEALTHCHECK script run against a real service: the compiled service and CLI, the CLI on the PATH
 * as `orders`, and a health check that asks the process's own /healthz.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/redis-server/managed-redis.ts';
import { Harness } from './support/harness.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCKERFILE = readFileSync(`${ROOT}Dockerfile`, 'utf8');
/** The runtime stage: everything after the last FROM. */
const RUNTIME = DOCKERFILE.slice(DOCKERFILE.lastIndexOf('\nFROM '));

let h: Harness;
beforeAll(async () => {
  h = await Harness.start({ queues: [] });
});
afterAll(async () => {
  await h?.stop();
});

/** Runs the script as the container would; asynchronously, for the service it asks runs in this process. */
async function healthcheck(env: Record<string, string>): Promise<{ status: number | null }> {
  const child = spawn(process.execPath, ['bin/healthcheck.js'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } });
  const [status] = (await once(child, 'exit')) as [number | null];
  return { status };
}

describe('the container image', () => {
  it('ships the compiled service and the CLI, with `orders` on the PATH, and starts without a compiler', () => {
    expect(DOCKERFILE).toMatch(/^RUN npm run build$/m);
    expect(RUNTIME).toMatch(/^COPY bin \.\/bin$/m);
    expect(RUNTIME).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(RUNTIME).toMatch(/^RUN ln -s \/app\/bin\/orders\.js \/usr\/local\/bin\/orders$/m);
    expect(RUNTIME).toMatch(/ORDERS_LAUNCH=dist/);
    expect(RUNTIME).toMatch(/^CMD \["node", "bin\/start\.js"\]$/m);
    // The runtime has no sources and no dev dependencies: no tsc, no tsx loader at start.
    expect(RUNTIME).not.toMatch(/^COPY src/m);
    expect(RUNTIME).not.toMatch(/--import", "tsx"/);
  });

  it('has a HEALTHCHECK that asks the process’s own /healthz', async () => {
    expect(RUNTIME).toMatch(/^HEALTHCHECK .*CMD \["node", "\/app\/bin\/healthcheck\.js"\]$/m);
    expect((await healthcheck({ PORT: String(h.service.port) })).status).toBe(0);
    expect((await healthcheck({ PORT: String(await freePort()) })).status).toBe(1);
    // A worker asks its METRICS_PORT; without one it serves no HTTP and counts as healthy.
    expect((await healthcheck({ ROLE: 'worker', METRICS_PORT: String(h.service.port) })).status).toBe(0);
    expect((await healthcheck({ ROLE: 'worker', METRICS_PORT: String(await freePort()) })).status).toBe(1);
    expect((await healthcheck({ ROLE: 'worker' })).status).toBe(0);
  });
});
