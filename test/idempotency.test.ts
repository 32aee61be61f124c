/**
 * Idempotency keys with Stripe's semantics: a replay answers the first response, the same key
 * with another body is refused, concurrent first uses make one order, and keys expire.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { startService } from '../src/service.ts';
import { clientHeaders } from '../src/cli/http-client.ts';
import { API_KEY, Harness, ManualClock, orderBody } from './support/harness.ts';
import { sqlNumber } from './support/store.ts';

let h: Harness | undefined;

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function start(env: Record<string, string> = {}, now?: () => number): Promise<Harness> {
  h = await Harness.start({ queues: [], env, ...(now ? { now } : {}) });
  await h.putProduct('SKU-1', 100);
  await h.putProduct('SKU-2', 100);
  return h;
}

const count = (h: Harness, table: string) => sqlNumber(h.db, `SELECT count(*) AS n FROM ${table}`);

describe('Idempotency-Key on POST /orders', () => {
  it('replays the original status and body, marked Idempotent-Replayed, and creates nothing more', async () => {
    const h = await start();
    const first = await h.request('POST', '/orders', orderBody(), { 'idempotency-key': 'key-replay' });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    // The order moves on meanwhile; the replay still answers what the first request got.
    await h.request('POST', `/orders/${first.json.id}/cancel`);
    // Same request, fields in another order and spaced differently.
    const { shippingAddress, payment, items, customerId } = orderBody();
    const replay = await h.request('POST', '/orders', JSON.stringify({ shippingAddress, payment, items, customerId }, null, 2), {
      'idempotency-key': 'key-replay',
    });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('location')).toBe(`/orders/${first.json.id}`);
    expect(replay.text).toBe(first.text);
    expect(replay.json.status).toBe('CREATED');
    expect(await count(h, 'orders')).toBe(1);
    expect(await count(h, 'outbox')).toBe(2); // OrderPlaced, Cancelled: nothing from the replay
  });

  it('refuses the same key with another body with a 422, and writes nothing', async () => {
    const h = await start();
    await h.placeOrder(orderBody(), { 'idempotency-key': 'key-mismatch' });
    const before = await h.rowCounts();
    const other = await h.request('POST', '/orders', orderBody('tok_visa', [{ sku: 'SKU-2', quantity: 3 }]), {
      'idempotency-key': 'key-mismatch',
    });
    expect(other.status).toBe(422);
    expect(other.headers.get('content-type')).toBe('application/problem+json');
    expect(other.json.errors).toEqual([expect.objectContaining({ field: 'Idempotency-Key' })]);
    expect(await h.rowCounts()).toEqual(before);
  });

  it('keeps keys apart: another key with the same body is another order', async () => {
    const h = await start();
    const a = await h.placeOrder(orderBody(), { 'idempotency-key': 'key-a' });
    const b = await h.placeOrder(orderBody(), { 'idempotency-key': 'key-b' });
    expect(a.id).not.toBe(b.id);
    expect(await count(h, 'orders')).toBe(2);
  });

  it('creates exactly one order from 10 parallel first uses of one key', async () => {
    const h = await start();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => h.request('POST', '/orders', orderBody(), { 'idempotency-key': 'key-race' })),
    );
    for (const res of answers) expect([201, 409]).toContain(res.status);
    const created = answers.filter((r) => r.status === 201);
    expect(new Set(created.map((r) => r.json.id)).size).toBe(1);
    expect(created.filter((r) => r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    expect(await count(h, 'orders')).toBe(1);
    expect(await count(h, 'idempotency_keys')).toBe(1);
    expect(await count(h, 'outbox')).toBe(1);
  });

  it('creates exactly one order when two API processes on one database race on a key', async () => {
    const h = await start();
    const other = await startService({ ...h.config, http: { ...h.config.http, port: 0 } }, h.redisUrl, createLogger('silent'));
    try {
      const bases = [h.base, `http://127.0.0.1:${other.port}`];
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          fetch(`${bases[i % 2]}/orders`, {
            method: 'POST',
            headers: clientHeaders(API_KEY, { 'content-type': 'application/json', 'idempotency-key': 'key-two-apis' }),
            body: JSON.stringify(orderBody()),
          }).then(async (res) => ({ status: res.status, json: (await res.json()) as { id: string } })),
        ),
      );
      for (const res of answers) expect([201, 409]).toContain(res.status);
      expect(new Set(answers.filter((r) => r.status === 201).map((r) => r.json.id)).size).toBe(1);
      expect(await count(h, 'orders')).toBe(1);
    } finally {
      await other.stop();
    }
  });

  it('stores no key for a refused request, so the corrected request goes through', async () => {
    const h = await start();
    const refused = await h.request('POST', '/orders', orderBody('tok_visa', [{ sku: 'NOPE', quantity: 1 }]), {
      'idempotency-key': 'key-fixed',
    });
    expect(refused.status).toBe(422);
    expect(await count(h, 'idempotency_keys')).toBe(0);
    const fixed = await h.request('POST', '/orders', orderBody(), { 'idempotency-key': 'key-fixed' });
    expect(fixed.status).toBe(201);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
  });

  it('forgets a key once it expires: the key is free again, and the sweep deletes it', async () => {
    // The key's lifetime passes on the API's clock, not the machine's: however slow the machine, the
    // second request comes after the first key expired and the replay before the second one did.
    const clock = new ManualClock();
    const h = await start({ IDEMPOTENCY_TTL_MS: '1000' }, clock.now);
    const first = await h.placeOrder(orderBody(), { 'idempotency-key': 'key-expiry' });
    clock.advance(1_000);
    // Expired: another body under the same key is a new order, not a 422.
    const second = await h.request('POST', '/orders', orderBody('tok_visa', [{ sku: 'SKU-2', quantity: 1 }]), {
      'idempotency-key': 'key-expiry',
    });
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect(second.json.id).not.toBe(first.id);
    // ...and within its own lifetime it replays.
    const replay = await h.request('POST', '/orders', orderBody('tok_visa', [{ sku: 'SKU-2', quantity: 1 }]), {
      'idempotency-key': 'key-expiry',
    });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json.id).toBe(second.json.id);

    // The API's sweep (every second at the least) deletes the expired row without any request.
    clock.advance(1_000);
    const deadline = Date.now() + 30_000;
    while ((await count(h, 'idempotency_keys')) > 0 && Date.now() < deadline) await sleep(100);
    expect(await count(h, 'idempotency_keys')).toBe(0);
    expect(await count(h, 'orders')).toBe(2);
  });
});
