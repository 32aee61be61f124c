/**
 * The claim on a queue prefix is a lease: it lapses when nobody renews it, a claim whose database
 * is provably gone is taken over at start (`rm -rf data && npm start`), and `orders
 * release-prefix` releases a stale one, but not from under a deployment whose workers are alive.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { databaseIdentity } from '../src/db/service-meta.ts';
import { createLogger } from '../src/logger.ts';
import { CLAIM_TTL_MS, claimKey, PrefixClaim, PrefixTakenError } from '../src/queues/prefix-claim.ts';
import { databaseLocation } from '../src/service.ts';
import { cliEnv, runCli } from './support/cli.ts';
import { Harness } from './support/harness.ts';
import { storeEnv } from './support/store.ts';

const harnesses: Harness[] = [];
const dirs: string[] = [];
let admin: Redis;

beforeAll(() => {
  admin = new Redis(inject('redisUrl'));
});
afterAll(async () => {
  await admin.quit();
});
afterEach(async () => {
  await Promise.allSettled(harnesses.splice(0).map((h) => h.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function start(options: Parameters<typeof Harness.start>[0] = {}): Promise<Harness> {
  const h = await Harness.start(options);
  harnesses.push(h);
  return h;
}

/** A store of its own, and where the prefix claim will say it lives. */
async function freshStore(): Promise<{ env: Record<string, string>; location: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'orders-claim-'));
  dirs.push(dir);
  const env = { ...(await storeEnv(dir)) } as Record<string, string>;
  return { env, location: databaseLocation({ databasePath: env.DATABASE_PATH!, databaseUrl: env.DATABASE_URL }) };
}

function uniquePrefix(): string {
  return `claim${Math.random().toString(36).slice(2, 10)}`;
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(25);
  }
}

describe('the claim on a queue prefix', () => {
  it('is a lease the service renews: it carries a lifetime, and each renewal restores it', async () => {
    const h = await start({ queues: [] });
    const key = claimKey(h.config.jobs.queuePrefix);
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(CLAIM_TTL_MS);
    await admin.pexpire(key, 1_000);
    await h.service.prefixClaim.check();
    expect(await admin.pttl(key)).toBeGreaterThan(1_000);
    // A claim left without a lifetime (by an older version) gets one at the next renewal.
    await admin.persist(key);
    await h.service.prefixClaim.check();
    expect(await admin.pttl(key)).toBeGreaterThan(0);
  });

  it('lapses when its holder stops renewing it, and another database may then take the prefix', async () => {
    const prefix = uniquePrefix();
    const gone = new PrefixClaim(
      admin,
      prefix,
      { database: 'a-deployment-that-stopped', location: '/srv/old/orders.db', host: 'old-host' },
      createLogger('silent'),
      () => {},
      50,
    );
    expect(await gone.claim()).toEqual({ outcome: 'claimed' });
    await waitUntil('the unrenewed claim lapses', async () => (await admin.exists(claimKey(prefix))) === 0);
    const h = await start({ queues: [], env: { QUEUE_PREFIX: prefix } });
    expect(JSON.parse((await admin.get(claimKey(prefix)))!).database).toBe(await databaseIdentity(h.db));
  });

  it('is taken over at start when it names a database at this very place on this host that is no longer there', async () => {
    const prefix = uniquePrefix();
    const store = await freshStore();
    // What `rm -rf data && npm start` meets: the claim of the database that was at this path.
    await admin.set(
      claimKey(prefix),
      JSON.stringify({ database: 'the-deleted-database', location: store.location, host: hostname() }),
    );
    const h = await start({ queues: [], env: { ...store.env, QUEUE_PREFIX: prefix } });
    const claim = JSON.parse((await admin.get(claimKey(prefix)))!);
    expect(claim).toMatchObject({ database: await databaseIdentity(h.db), location: store.location, host: hostname() });
    expect(await admin.pttl(claimKey(prefix))).toBeGreaterThan(0);
  });

  it('is not taken over when it was made for the same place on another host, and the refusal says how to release it', async () => {
    const prefix = uniquePrefix();
    const store = await freshStore();
    await admin.set(claimKey(prefix), JSON.stringify({ database: 'elsewhere', location: store.location, host: 'another-host' }));
    const refused = start({ queues: [], env: { ...store.env, QUEUE_PREFIX: prefix } });
    await expect(refused).rejects.toThrow(PrefixTakenError);
    await expect(refused).rejects.toThrow(/lapses 30 s after .*release-prefix --queue-prefix claim/);
  });
});

describe('orders release-prefix', () => {
  it('releases a stale claim, so that a new database starts on the prefix', async () => {
    const prefix = uniquePrefix();
    const store = await freshStore();
    // A claim without a lifetime, as versions before leases left them: it would block for ever.
    await admin.set(claimKey(prefix), JSON.stringify({ database: 'stale', location: '/srv/gone/orders.db', host: 'gone-host' }));
    await expect(start({ queues: [], env: { ...store.env, QUEUE_PREFIX: prefix } })).rejects.toThrow(PrefixTakenError);

    const env = { ...store.env, QUEUE_PREFIX: prefix, REDIS_URL: inject('redisUrl') };
    const released = await runCli(['release-prefix'], env);
    expect(released.stderr).toBe('');
    expect(released.code).toBe(0);
    expect(released.stdout).toContain(`released QUEUE_PREFIX=${prefix}, held by /srv/gone/orders.db on gone-host, id stale`);
    expect(await admin.exists(claimKey(prefix))).toBe(0);
    expect((await runCli(['release-prefix', '--json'], env)).json).toEqual({
      queuePrefix: prefix,
      released: false,
      heldBy: null,
    });

    await start({ queues: [], env: { ...store.env, QUEUE_PREFIX: prefix } });
  });

  it('refuses while workers are connected on the prefix, unless forced', async () => {
    const h = await start({ queues: ['inventory'] });
    const key = claimKey(h.config.jobs.queuePrefix);
    await waitUntil('the worker is connected', async () => (await h.service.queues.inventory.getWorkersCount()) > 0);
    const refused = await runCli(['release-prefix'], cliEnv(h));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /workers are connected on it \(inventory 1\): that deployment is alive; stop it first, or pass --force/,
    );
    expect(await admin.exists(key)).toBe(1);

    const forced = await runCli(['release-prefix', '--force', '--json'], cliEnv(h));
    expect(forced.code).toBe(0);
    expect(forced.json).toMatchObject({ released: true, heldBy: { database: await databaseIdentity(h.db) } });
    // The live holder claims it again at its next renewal.
    await h.service.prefixClaim.check();
    expect(await admin.exists(key)).toBe(1);
  });
});
