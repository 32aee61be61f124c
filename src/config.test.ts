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
      apiKeysGenerated: true,
      clientApiKey: undefined,
      host: '127.0.0.1',
      corsOrigins: [],
      trustProxy: false,
      maxOrderTotalCents: 10_000_000,
      apiKeyRateLimit: 5_000,
      addressRateLimit: 60,
      adminAuthFailureLimit: 10,
    });
    expect(config.apiKeys).toHaveLength(1);
    expect(config.apiKeys[0]!.length).toBeGreaterThanOrEqual(16);
  });

  it('read a list of keys and origins, and give the CLI API_KEY or else the first key', () => {
    const config = loadConfig({
      API_KEYS: 'storefront-one-0123456789, storefront-two-0123456789',
      CORS_ORIGINS: 'https://shop.example,http://localhost:5173',
    });
    expect(config.apiKeys).toEqual(['storefront-one-0123456789', 'storefront-two-0123456789']);
    expect(config.clientApiKey).toBe('storefront-one-0123456789');
    expect(config.corsOrigins).toEqual(['https://shop.example', 'http://localhost:5173']);
    expect(loadConfig({ API_KEYS: 'storefront-one-0123456789', API_KEY: 'the-cli-key-0123456789' }).clientApiKey).toBe(
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
      loadConfig({ REDIS_SENTINELS: 'sentinel-1:26379, 10.0.0.2:26380', REDIS_SENTINEL_MASTER: 'orders' }).redisSentinels,
    ).toEqual({
      sentinels: [
        { host: 'sentinel-1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
      ],
      name: 'orders',
    });
    expect(loadConfig({}).redisSentinels).toBeUndefined();
    expect(() => loadConfig({ REDIS_SENTINELS: 'sentinel-1' })).toThrow(
      /REDIS_SENTINELS: must be a comma-separated list of host:port/,
    );
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
