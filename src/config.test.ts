/**
 * Configuration: every variable validated at start; a bad one stops the process with one line
 * naming it.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('gives the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      role: 'all',
      logLevel: 'info',
      http: { port: 3000 },
      redis: { redisUrl: undefined },
      store: { databasePath: 'data/orders.db' },
      jobs: { queuePrefix: 'orders', workerConcurrency: 8, paymentLatencyMs: 0, paymentTimeoutMs: 30_000, stuckAfterMs: 60_000 },
      api: { adminTokenGenerated: true, webhookSecretGenerated: true },
    });
    expect(config.api.adminToken.length).toBeGreaterThanOrEqual(16);
    expect(loadConfig({}).api.adminToken).not.toBe(config.api.adminToken);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', ADMIN_TOKEN: '' })).toMatchObject({ http: { port: 3000 }, api: { adminTokenGenerated: true } });
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
    ['API_KEYS', 'short-key', 'at least 16'],
    ['API_KEYS', 'a-good-key-0123456789,short', 'at least 16'],
    ['API_KEYS', 'a key with spaces 0123456789', 'visible ASCII'],
    ['API_KEY', 'short', 'at least 16'],
    ['HOST', 'not a host', 'IP address or a host name'],
    ['CORS_ORIGINS', 'https://shop.example/path', 'comma-separated list of origins'],
    ['CORS_ORIGINS', 'shop.example', 'comma-separated list of origins'],
    ['TRUST_PROXY', 'yes', 'true or false'],
    ['MAX_ORDER_TOTAL_CENTS', '0', 'at least 1'],
    ['API_KEY_RATE_LIMIT', '-1', 'at least 0'],
    ['ADDRESS_RATE_LIMIT', 'lots', 'must be a number'],
    ['ADMIN_AUTH_FAILURE_LIMIT', '2.5', 'whole number'],
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

describe('the security settings', () => {
  it('default to a generated API key, loopback, no CORS, the proxy not trusted, and the documented limits', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      http: { host: '127.0.0.1', corsOrigins: [], trustProxy: false },
      api: {
        apiKeysGenerated: true,
        clientApiKey: undefined,
        maxOrderTotalCents: 10_000_000,
        apiKeyRateLimit: 5_000,
        addressRateLimit: 60,
        adminAuthFailureLimit: 10,
      },
    });
    expect(config.api.apiKeys).toHaveLength(1);
    expect(config.api.apiKeys[0]!.length).toBeGreaterThanOrEqual(16);
  });

  it('read a list of keys and origins, and give the CLI API_KEY or else the first key', () => {
    const config = loadConfig({
      API_KEYS: 'storefront-one-0123456789, storefront-two-0123456789',
      CORS_ORIGINS: 'https://shop.example,http://localhost:5173',
    });
    expect(config.api.apiKeys).toEqual(['storefront-one-0123456789', 'storefront-two-0123456789']);
    expect(config.api.clientApiKey).toBe('storefront-one-0123456789');
    expect(config.http.corsOrigins).toEqual(['https://shop.example', 'http://localhost:5173']);
    expect(loadConfig({ API_KEYS: 'storefront-one-0123456789', API_KEY: 'the-cli-key-0123456789' }).api.clientApiKey).toBe(
      'the-cli-key-0123456789',
    );
  });

  it('never print a secret that was refused', () => {
    const refused = () => loadConfig({ API_KEYS: 'almost-right-key,x', ADMIN_TOKEN: 'secret!' });
    expect(refused).toThrow(/API_KEYS: [^;]*\(got 18 characters\)/);
    expect(refused).toThrow(/ADMIN_TOKEN: [^;]*\(got 7 characters\)/);
    expect(refused).not.toThrow(/secret!/);
    expect(() => loadConfig({ API_KEYS: 'almost-right-key,x' })).not.toThrow(/almost-right-key/);
  });

  it('reads REDIS_SENTINELS as host:port pairs, with the master name', () => {
    expect(
      loadConfig({ REDIS_SENTINELS: 'sentinel-1:26379, 10.0.0.2:26380', REDIS_SENTINEL_MASTER: 'orders' }).redis.redisSentinels,
    ).toEqual({
      sentinels: [
        { host: 'sentinel-1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
      ],
      name: 'orders',
    });
    expect(loadConfig({}).redis.redisSentinels).toBeUndefined();
    expect(() => loadConfig({ REDIS_SENTINELS: 'sentinel-1' })).toThrow(
      /REDIS_SENTINELS: must be a comma-separated list of host:port/,
    );
  });

  it.each([
    ['ADMIN_TOKEN', 'hunter2-short'],
    ['WEBHOOK_SECRET', 'hunter2-short'],
    ['API_KEY', 'hunter2 with space and long'],
    ['DATABASE_URL', 'mysql://app:hunter2@db/orders'],
    ['SMTP_URL', 'smtp://mailer@hunter2.example'],
  ])('report a refused %s by its length only', (name, value) => {
    const refused = () => loadConfig({ [name]: value, MAIL_FROM: 'orders@shop.example' });
    expect(refused).toThrow(new RegExp(`${name}: [^;]*\\(got ${value.length} characters\\)`));
    expect(refused).not.toThrow(/hunter2/);
  });

  it('never print a Redis password or an OTLP header that was refused', () => {
    const redis = () => loadConfig({ REDIS_URL: 'redis//:hunter2@cache:6379' });
    expect(redis).toThrow(/REDIS_URL: [^;]*\(got 26 characters\)/);
    expect(redis).not.toThrow(/hunter2/);
    const headers = () => loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%zzsk-live-1234' });
    expect(headers).toThrow(/OTEL_EXPORTER_OTLP_HEADERS: /);
    expect(headers).not.toThrow(/sk-live-1234/);
    const traces = () => loadConfig({ OTEL_EXPORTER_OTLP_TRACES_HEADERS: '=sk-live-1234' });
    expect(traces).not.toThrow(/sk-live-1234/);
  });
});

describe('the configuration', () => {
  it('is grouped as the variables are: each variable read into its group', () => {
    const config = loadConfig({
      PORT: '8080',
      REDIS_URL: 'redis://cache:6379',
      DATABASE_POOL_SIZE: '4',
      JOB_ATTEMPTS: '3',
      RELAY_SWEEP_MS: '250',
      MAIL_LEASE_MS: '5000',
      WEBHOOK_TOLERANCE_S: '60',
    });
    expect(config).toMatchObject({
      http: { port: 8080 },
      redis: { redisUrl: 'redis://cache:6379' },
      store: { databasePoolSize: 4 },
      jobs: { jobAttempts: 3 },
      outbox: { relaySweepMs: 250 },
      mail: { smtp: undefined, mailLeaseMs: 5000 },
      api: { webhookToleranceS: 60 },
      tracing: undefined,
    });
  });

  it('says every bad variable at once, each on its part of one line', () => {
    expect(() => loadConfig({ PORT: 'x', JOB_ATTEMPTS: '0', OTEL_BSP_SCHEDULE_DELAY: 'soon' })).toThrow(
      /^invalid configuration: PORT: must be a number \(got "x"\); JOB_ATTEMPTS: must be at least 1 \(got "0"\); OTEL_BSP_SCHEDULE_DELAY: must be a number \(got "soon"\)$/,
    );
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
