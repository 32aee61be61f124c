/**
 * How `orders load` retries one order: what is retried, how long it waits, and when it stops.
 */
import { describe, expect, it } from 'vitest';
import type { Placement } from './load-engine.ts';
import { DEFAULT_RETRY, retryable, retryDelayMs, withRetries } from './load-retry.ts';

const answer = (status: number, extra: Partial<Placement> = {}): Placement => ({ status, latencyMs: 1, ...extra });

describe('retrying an order', () => {
  it('retries no answer, 503 and 429, and takes any other answer as final', () => {
    expect([0, 503, 429].map((status) => retryable(answer(status)))).toEqual([true, true, true]);
    expect([201, 400, 401, 409, 422, 500].map((status) => retryable(answer(status)))).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('waits between half and all of a doubling ceiling, capped, or what Retry-After says up to 10 s', () => {
    const policy = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 2_000 };
    expect([1, 2, 3, 6, 10].map((n) => retryDelayMs(n, policy, undefined, () => 0))).toEqual([50, 100, 200, 1_000, 1_000]);
    expect([1, 2, 3, 6, 10].map((n) => retryDelayMs(n, policy, undefined, () => 1))).toEqual([100, 200, 400, 2_000, 2_000]);
    expect(retryDelayMs(1, policy, 2)).toBe(2_000);
    expect(retryDelayMs(1, policy, 120)).toBe(10_000);
  });

  it('stops at the first final answer, and gives up once the retry window is spent', async () => {
    const policy = { ...DEFAULT_RETRY, baseDelayMs: 10, maxDelayMs: 20, retryForMs: 300 };
    const answers = [answer(0, { error: 'ECONNREFUSED' }), answer(503), answer(201, { id: 'ord_1', replayed: true })];
    expect(await withRetries(policy, async () => answers.shift()!)).toMatchObject({
      status: 201,
      id: 'ord_1',
      replayed: true,
      attempts: 3,
    });

    let attempts = 0;
    const gaveUp = await withRetries(policy, async () => {
      attempts++;
      return answer(0, { error: 'ECONNRESET' });
    });
    expect(gaveUp).toMatchObject({ status: 0, error: 'ECONNRESET', attempts });
    expect(attempts).toBeGreaterThan(1);

    expect(await withRetries({ ...policy, retryForMs: 0 }, async () => answer(503))).toMatchObject({ status: 503, attempts: 1 });
  });
});
