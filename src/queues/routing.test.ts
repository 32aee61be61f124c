/**
 * The routing table is the one source of which queue hears which event: every outbox event has a
 * queue, each queue's processor has a handler for exactly the events routed to it (the compiler
 * holds it to that; the `@ts-expect-error` lines below fail `npm run typecheck` if it stops), and
 * a transition nobody hears is never written to the outbox.
 */
import { describe, expect, it } from 'vitest';
import { OUTBOX_EVENTS, TIMELINE_ONLY_EVENTS } from '../domain/events.ts';
import { COMPENSATIONS, FACT_EFFECTS, NOTIFICATION_FOR_EVENT, RESTING } from '../domain/order-machine.ts';
import { QUEUE_NAMES, ROUTES, type Handler, type Handlers } from './routing.ts';

const noop: Handler = async () => 'ok';

describe('the routing table', () => {
  it('routes every outbox event to at least one queue, and every queue hears something', () => {
    for (const event of OUTBOX_EVENTS) expect(ROUTES[event].length, event).toBeGreaterThan(0);
    expect(new Set(Object.values(ROUTES).flat())).toEqual(new Set(QUEUE_NAMES));
    expect(Object.keys(ROUTES).sort()).toEqual([...OUTBOX_EVENTS].sort());
  });

  it('routes every event the reconciler re-drives and every piece of work a compensation or fact hands on', () => {
    const handedOn = [
      ...Object.values(RESTING).flatMap((r) => r.redrive),
      ...Object.values(COMPENSATIONS).flatMap((c) => (c.request ? [c.request.event] : [])),
      ...Object.values(FACT_EFFECTS).flatMap((f) => [...(f.requests ?? []), ...(f.publishes ? [f.publishes] : [])]),
    ];
    for (const event of handedOn) expect(ROUTES[event]?.length ?? 0, event).toBeGreaterThan(0);
  });

  it('sends InventoryReserved to shipping and to notification', () => {
    expect(ROUTES.InventoryReserved).toEqual(['shipping', 'notification']);
  });

  it('writes no outbox event for a transition nobody hears (PaymentRequested)', () => {
    expect(TIMELINE_ONLY_EVENTS).toEqual(['PaymentRequested']);
    expect(OUTBOX_EVENTS).not.toContain('PaymentRequested');
  });

  it('routes to notification exactly the events that send a message', () => {
    const heard = Object.entries(ROUTES)
      .filter(([, queues]) => (queues as readonly string[]).includes('notification'))
      .map(([e]) => e);
    expect(heard.sort()).toEqual(Object.keys(NOTIFICATION_FOR_EVENT).sort());
  });

  it('makes the compiler refuse a missing handler and a handler for an event the queue does not hear', () => {
    const complete: Handlers<'inventory'> = { PaymentSucceeded: noop, StockReleaseRequested: noop };
    // @ts-expect-error StockReleaseRequested is routed to inventory and has no handler
    const missing: Handlers<'inventory'> = { PaymentSucceeded: noop };
    // @ts-expect-error RefundRequested is not routed to inventory
    const extra: Handlers<'inventory'> = { PaymentSucceeded: noop, StockReleaseRequested: noop, RefundRequested: noop };
    expect([complete, missing, extra].map((h) => Object.keys(h).length)).toEqual([2, 1, 3]);
  });
});
