import { describe, expect, it } from 'vitest';
import { KnownOrders } from './known-orders.ts';

describe('known orders', () => {
  it('remembers what was added', () => {
    const known = new KnownOrders(3);
    known.add('a');
    expect(known.has('a')).toBe(true);
    expect(known.has('b')).toBe(false);
  });

  it('forgets the oldest once full, and keeps the rest', () => {
    const known = new KnownOrders(2);
    for (const id of ['a', 'b', 'c']) known.add(id);
    expect(known.has('a')).toBe(false);
    expect(known.has('b')).toBe(true);
    expect(known.has('c')).toBe(true);
  });
});
