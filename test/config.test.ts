/**
 * Configuration: every variable validated at start; a bad one stops the process with one line
 * naming it.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('loadConfig', () => {
  it('gives the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      role: 'all',
      redisUrl: undefined,
      databasePath: 'data/orders.db',
      queuePrefix: 'orders',
      workerConcurrency: 8,
      paymentLatencyMs: 0,
      paymentTimeoutMs: 30_000,
      stuckAfterMs: 60_000,
      logLevel: 'info',
      adminTokenGenerated: true,
      webhookSecretGenerated: true,
    });
    expect(config.adminToken.length).toBeGreaterThanOrEqual(16);
    expect(loadConfig({}).adminToken).not.toBe(config.adminToken);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', ADMIN_TOKEN: '' })).toMatchObject({ port: 3000, adminTokenGenerated: true });
  });

  it.each([
    ['PORT', 'abc', 'must be a number'],
    ['PORT', '70000', 'must be a port number'],
    ['ROLE', 'both', 'must be one of all, api, worker'],
    ['REDIS_URL', 'http://localhost', 'must be a redis:// or rediss:// URL'],
    ['ADMIN_TOKEN', 'short', 'at least 16 characters'],
    ['QUEUE_PREFIX', 'has:colon', 'letters, digits'],
    ['WORKER_CONCURRENCY', '0', 'at least 1'],
    ['PAYMENT_TIMEOUT_MS', '1.5', 'whole number'],
    ['LOG_LEVEL', 'loud', 'must be one of'],
  ])('refuses %s=%s, naming it', (name, value, message) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(name);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('\n');
  });
});

describe('the process', () => {
  it('exits at start with one line naming each bad variable', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { PATH: process.env.PATH, PORT: 'x', ROLE: 'nobody' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/PORT/);
    expect(lines[0]).toMatch(/ROLE/);
    expect(result.stdout).toBe('');
  });
});
