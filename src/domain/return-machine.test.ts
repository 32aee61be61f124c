/**
 * The return lifecycle table, walked whole against an independent copy of the lifecycle as the README states it:
 * every listed step leads where it says, every other (status, event) pair is refused, and the sets
 * read off the table (open, claiming, restocked, the messages owed) are what the lifecycle means.
 */
import { describe, expect, it } from 'vitest';
import {
  applyReturnEvent,
  CLAIMING_RETURN_STATUSES,
  INITIAL_RETURN_STATUS,
  OPEN_RETURN_STATUSES,
  owedReturnMessages,
  RESTOCKED_RETURN_STATUSES,
  RETURN_EVENTS,
  RETURN_MESSAGES,
  RETURN_ROWS,
  RETURN_STATUSES,
  TERMINAL_RETURN_STATUSES,
  type ReturnEvent,
  type ReturnStatus,
} from './return-machine.ts';
import { FACT_EFFECTS, NOTIFICATION_FOR_EVENT } from './order-machine.ts';
import { SUBJECT_NOTIFICATION_KINDS } from './events.ts';

// REQUESTED → RECEIVED → REFUNDED; REQUESTED → REJECTED / CANCELLED, restated apart from the code.
const LIFECYCLE: [ReturnStatus, ReturnEvent, ReturnStatus][] = [
  ['REQUESTED', 'ReturnReceived', 'RECEIVED'],
  ['RECEIVED', 'ReturnRefunded', 'REFUNDED'],
  ['REQUESTED', 'ReturnRejected', 'REJECTED'],
  ['REQUESTED', 'ReturnCancelled', 'CANCELLED'],
];

describe('the return lifecycle table', () => {
  it.each(LIFECYCLE)('%s --%s--> %s', (from, event, to) => {
    const result = applyReturnEvent(from, event);
    expect(result).toMatchObject({ ok: true, from, to });
  });

  it('refuses every (status, event) pair the lifecycle does not list', () => {
    const allowed = new Set(LIFECYCLE.map(([from, event]) => `${from}/${event}`));
    let refused = 0;
    for (const status of RETURN_STATUSES) {
      for (const event of RETURN_EVENTS) {
        if (allowed.has(`${status}/${event}`)) continue;
        const result = applyReturnEvent(status, event);
        expect(result.ok, `${status}/${event}`).toBe(false);
        if (!result.ok) expect(result.refusal).toMatchObject({ kind: 'InvalidReturnTransition', from: status, event });
        refused++;
      }
    }
    expect(refused).toBe(RETURN_STATUSES.length * RETURN_EVENTS.length - LIFECYCLE.length);
    expect(RETURN_ROWS).toHaveLength(LIFECYCLE.length);
  });

  it('starts REQUESTED and ends REFUNDED, REJECTED or CANCELLED', () => {
    expect(INITIAL_RETURN_STATUS).toBe('REQUESTED');
    expect([...TERMINAL_RETURN_STATUSES].sort()).toEqual(['CANCELLED', 'REFUNDED', 'REJECTED']);
    expect([...OPEN_RETURN_STATUSES].sort()).toEqual(['RECEIVED', 'REQUESTED']);
  });

  it('restocks and refunds on receipt only, and frees the units only when rejected or cancelled', () => {
    expect(RETURN_ROWS.filter((r) => r.restock).map((r) => r.event)).toEqual(['ReturnReceived']);
    expect(RETURN_ROWS.filter((r) => r.refund).map((r) => r.event)).toEqual(['ReturnReceived']);
    expect([...RESTOCKED_RETURN_STATUSES].sort()).toEqual(['RECEIVED', 'REFUNDED']);
    expect([...CLAIMING_RETURN_STATUSES].sort()).toEqual(['RECEIVED', 'REFUNDED', 'REQUESTED']);
  });

  it('owes a message for each step, once per return: the refund’s own message covers REFUNDED', () => {
    expect(owedReturnMessages('REQUESTED')).toEqual(['return_requested']);
    expect(owedReturnMessages('RECEIVED')).toEqual(['return_requested', 'return_received']);
    expect(owedReturnMessages('REFUNDED')).toEqual(['return_requested', 'return_received']);
    expect(owedReturnMessages('REJECTED')).toEqual(['return_requested', 'return_rejected']);
    expect(owedReturnMessages('CANCELLED')).toEqual(['return_requested', 'return_cancelled']);
    for (const kind of RETURN_MESSAGES) {
      expect(SUBJECT_NOTIFICATION_KINDS).toContain(kind);
      // Each is sent by the event its step publishes on the order's timeline.
      expect(Object.values(NOTIFICATION_FOR_EVENT)).toContain(kind);
    }
    for (const event of RETURN_EVENTS) expect(FACT_EFFECTS[event]).toBeDefined();
  });
});
