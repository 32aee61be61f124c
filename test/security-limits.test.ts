/**
 * Abuse limits as they run in production: two real API processes on one Redis share every
 * counter (per client address without a valid key, per API key, wrong admin credentials); another
 * address (127.0.0.2, another client as far as the socket can tell) is not affected; and a
 * limiter whose Redis is frozen or gone lets requests through rather than stopping intake.
 */
import { limiterTrouble } from '../src/api/rate-limits.ts';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN_TOKEN, API_KEY, Harness, OTHER_API_KEY, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { putProductOver, startServiceProcess, type ServiceProcess } from './support/processes.ts';
import { rawRequest } from './support/raw-http.ts';
import { startRedisServer, type TestRedis } from './support/redis-server.ts';
import { storeEnv } from './support/store.ts';

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` });

describe('limits across two API processes', () => {
  let dir: string;
  let apis: ServiceProcess[] = [];
  let bases: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-limits-'));
    const env = {
      ROLE: 'api',
      PORT: '0',
      ...(await storeEnv(dir)),
      QUEUE_PREFIX: `l${randomBytes(4).toString('hex')}`,
      REDIS_URL: inject('redisUrl'),
      ADMIN_TOKEN,
      WEBHOOK_SECRET,
      ADDRESS_RATE_LIMIT: '5',
      API_KEY_RATE_LIMIT: '5',
      ADMIN_AUTH_FAILURE_LIMIT: '3',
    };
    apis = [await startServiceProcess(env)];
    apis.push(await startServiceProcess(env));
    bases = apis.map((api) => `http://127.0.0.1:${api.port}`);
    expect(await putProductOver(bases[0]!, 'SKU-1', 100, ADMIN_TOKEN)).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(apis.map((api) => api.kill('SIGTERM')));
    rmSync(dir, { recursive: true, force: true });
  });

  it('listen on HOST (127.0.0.1 by default) and say the real address', () => {
    for (const api of apis) {
      expect(api.logs).toContainEqual(
        expect.objectContaining({ host: '127.0.0.1', msg: `order service listening on http://127.0.0.1:${api.port}` }),
      );
    }
  });

  it('count requests without a valid key per address, across both processes, then answer 429 with Retry-After', async () => {
    const statuses: number[] = [];
    let retryAfter: string | string[] | undefined;
    for (let i = 0; i < 8; i++) {
      const res = await rawRequest(`${bases[i % 2]}/orders/ord_guess`, { headers: bearer(`guessed-key-${i}-0123456789`) });
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers['retry-after'];
        expect(res.json).toMatchObject({ status: 429, type: '/problems/too-many-requests' });
      }
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);

    // A storefront with a valid key behind the same address is not throttled by the guesser.
    const order = await rawRequest(`${bases[0]}/orders`, {
      method: 'POST',
      headers: { ...bearer(API_KEY), 'content-type': 'application/json' },
      body: JSON.stringify(orderBody()),
    });
    expect(order.status).toBe(201);
    // Another address has its own count.
    const elsewhere = await rawRequest(`${bases[1]}/orders/ord_guess`, {
      headers: bearer('guessed-key-x-0123456789'),
      localAddress: '127.0.0.2',
    });
    expect(elsewhere.status).toBe(401);
  });

  it('throttle wrong admin credentials per address, across both processes, even for the right token then', async () => {
    const wrong = await Promise.all(
      [0, 1, 2].map((i) =>
        rawRequest(`${bases[i % 2]}/admin/products`, { headers: basic(`wrong-${i}`), localAddress: '127.0.0.3' }),
      ),
    );
    expect(wrong.map((r) => r.status)).toEqual([401, 401, 401]);
    const fourth = await rawRequest(`${bases[1]}/admin/products`, { headers: basic('wrong-3'), localAddress: '127.0.0.3' });
    expect(fourth.status).toBe(429);
    expect(Number(fourth.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const right = await rawRequest(`${bases[0]}/admin/products`, { headers: bearer(ADMIN_TOKEN), localAddress: '127.0.0.3' });
    expect(right.status).toBe(429);
    // The operator at another address is not locked out by it.
    const operator = await rawRequest(`${bases[0]}/admin/products`, { headers: bearer(ADMIN_TOKEN), localAddress: '127.0.0.4' });
    expect(operator.status).toBe(200);
    // A browser's first request, without credentials, is not a guess.
    for (let i = 0; i < 5; i++) {
      expect((await rawRequest(`${bases[i % 2]}/admin/products`, { localAddress: '127.0.0.4' })).status).toBe(401);
    }
    expect(
      (await rawRequest(`${bases[1]}/admin/products`, { headers: bearer(ADMIN_TOKEN), localAddress: '127.0.0.4' })).status,
    ).toBe(200);
  });

  it('limit requests per API key, across both processes, without touching another key', async () => {
    const started = Date.now();
    const answers = [];
    for (let i = 0; i < 60; i++) answers.push(await rawRequest(`${bases[i % 2]}/orders/ord_none`, { headers: bearer(API_KEY) }));
    const windows = Math.ceil((Date.now() - started) / 1_000) + 1;
    const passed = answers.filter((r) => r.status === 404).length;
    const limited = answers.filter((r) => r.status === 429);
    expect(passed + limited.length).toBe(60);
    // 5 a second in all, whichever process answered: never more than the windows the run spanned allow.
    expect(passed).toBeLessThanOrEqual(5 * windows);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.headers['retry-after']).toBe('1');
    const other = await rawRequest(`${bases[0]}/orders/ord_none`, { headers: bearer(OTHER_API_KEY) });
    expect(other.status).toBe(404);
  });
});

describe('the limiter’s warning', () => {
  it('says what happened: slow is not away', () => {
    expect(limiterTrouble(new Error('Operation timed out'), 200)).toBe(
      'Redis did not answer within 200 ms (slow, overloaded or frozen)',
    );
    expect(limiterTrouble(new Error('Redis connection is not ready'), 200)).toBe('Redis is not connected');
    expect(limiterTrouble(new Error("Stream isn't writeable and enableOfflineQueue options is false"), 200)).toBe(
      'Redis is not connected',
    );
    expect(limiterTrouble(new Error('OOM command not allowed'), 200)).toBe('Redis is out of memory and refuses to count');
    expect(limiterTrouble(new Error('ERR unknown command'), 200)).toBe('Redis answered with an error (ERR unknown command)');
  });
});

describe('a limiter that cannot reach Redis', () => {
  let redis: TestRedis | undefined;
  let h: Harness | undefined;

  afterEach(async () => {
    if (redis?.process.exitCode === null) redis.process.kill('SIGCONT');
    await h?.stop();
    h = undefined;
    await redis?.stop();
    redis = undefined;
  });

  it('lets requests through when Redis is frozen (SIGSTOP) or gone', async () => {
    redis = await startRedisServer();
    h = await Harness.start({ redisUrl: redis.url, queues: [], env: { ADDRESS_RATE_LIMIT: '1' } });
    await h.putProduct('SKU-1', 10);
    const guess = (address: string) =>
      rawRequest(`${h!.base}/orders/ord_x`, { headers: bearer('guessed-key-0123456789'), localAddress: address });

    expect((await guess('127.0.0.5')).status).toBe(401);
    expect((await guess('127.0.0.5')).status).toBe(429);

    redis.process.kill('SIGSTOP');
    // Counted nowhere, refused only for the wrong key; and intake goes on.
    expect((await guess('127.0.0.6')).status).toBe(401);
    expect((await guess('127.0.0.6')).status).toBe(401);
    expect((await h.request('POST', '/orders', orderBody())).status).toBe(201);

    redis.process.kill('SIGCONT');
    await redis.stop();
    expect((await guess('127.0.0.7')).status).toBe(401);
    expect((await guess('127.0.0.7')).status).toBe(401);
    expect((await h.request('POST', '/orders', orderBody())).status).toBe(201);
  });
});
