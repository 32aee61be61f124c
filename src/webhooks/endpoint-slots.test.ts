import { describe, expect, it } from 'vitest';
import { BUSY_WAIT_MS, EndpointSlots, MAX_BUSY_WAIT_MS } from './endpoint-slots.ts';

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('EndpointSlots', () => {
  it('gives each endpoint its own slots, then a line as long as its slots, then turns attempts away', async () => {
    const slots = new EndpointSlots({ perEndpoint: 2 });
    expect(await slots.take('a')).toBe(true);
    expect(await slots.take('a')).toBe(true);
    expect(await slots.take('b')).toBe(true);
    const waiting = [slots.take('a'), slots.take('a')];
    await settled();
    expect(slots.load('a')).toEqual({ busy: 2, waiting: 2 });
    expect(await slots.take('a')).toBe(false);
    expect(slots.load('b')).toEqual({ busy: 1, waiting: 0 });

    // A release hands the slot to the first in line; the slots in use stay two.
    let first = false;
    void waiting[0]!.then(() => (first = true));
    slots.release('a');
    await settled();
    expect(first).toBe(true);
    expect(slots.load('a')).toEqual({ busy: 2, waiting: 1 });
    slots.release('a');
    expect(await waiting[1]).toBe(true);
    slots.release('a');
    slots.release('a');
    expect(slots.load('a')).toEqual({ busy: 0, waiting: 0 });
    expect(await slots.take('a')).toBe(true);
  });

  it('keeps an attempt turned away longer the more were turned away in the busy spell, up to a cap', async () => {
    let clock = 0;
    const slots = new EndpointSlots({ perEndpoint: 1, lineLength: 1, clock: () => clock });
    const half = () => 0.5;
    await slots.take('a');
    void slots.take('a');
    expect(await slots.take('a')).toBe(false);
    expect(slots.turnedAwayMs('a', half)).toBe(BUSY_WAIT_MS);
    clock += 100;
    expect(await slots.take('a')).toBe(false);
    expect(slots.turnedAwayMs('a', half)).toBe(2 * BUSY_WAIT_MS);
    for (let i = 0; i < 100; i++) await slots.take('a');
    expect(slots.turnedAwayMs('a', half)).toBe(MAX_BUSY_WAIT_MS);
    // A short idle moment does not end the spell; a quiet while as long as the longest stay does.
    slots.release('a');
    slots.release('a');
    expect(slots.load('a')).toEqual({ busy: 0, waiting: 0 });
    await slots.take('a');
    void slots.take('a');
    clock += 1_000;
    await slots.take('a');
    expect(slots.turnedAwayMs('a', half)).toBe(MAX_BUSY_WAIT_MS);
    clock += MAX_BUSY_WAIT_MS;
    await slots.take('a');
    expect(slots.turnedAwayMs('a', half)).toBe(BUSY_WAIT_MS);
  });

  it('lets the line be longer than the slots', async () => {
    const slots = new EndpointSlots({ perEndpoint: 1, lineLength: 3 });
    await slots.take('a');
    const waiting = [slots.take('a'), slots.take('a'), slots.take('a')];
    await settled();
    expect(slots.load('a')).toEqual({ busy: 1, waiting: 3 });
    expect(await slots.take('a')).toBe(false);
    for (let i = 0; i < 4; i++) slots.release('a');
    expect(await Promise.all(waiting)).toEqual([true, true, true]);
    expect(slots.load('a')).toEqual({ busy: 0, waiting: 0 });
  });
});
