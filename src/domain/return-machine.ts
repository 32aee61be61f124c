/**
 * A return's lifecycle, written as data in the same way as the order's (order-machine.ts): a
 * table of (status, event) → next status with what each row causes, one pure function that
 * applies an event or says why not, and every other set read off the table.
 *
 * A return opens REQUESTED for units of a shipped or delivered order. The goods coming back
 * (an operator's receipt, or the carrier reporting the parcel back) make it RECEIVED: the units go
 * back on sale and their amount is refunded; once that refund has settled it is REFUNDED. An
 * operator may reject it instead, and the customer may cancel it, while it is still REQUESTED.
 * Pure: no I/O.
 */
import type { NotificationKind } from './events.ts';

export const RETURN_STATUSES = ['REQUESTED', 'RECEIVED', 'REFUNDED', 'REJECTED', 'CANCELLED'] as const;
export type ReturnStatus = (typeof RETURN_STATUSES)[number];

export const RETURN_EVENTS = ['ReturnReceived', 'ReturnRefunded', 'ReturnRejected', 'ReturnCancelled'] as const;
export type ReturnEvent = (typeof RETURN_EVENTS)[number];

/** Where every return starts, and the message its opening owes the customer. */
export const INITIAL_RETURN_STATUS: ReturnStatus = 'REQUESTED';
export const RETURN_OPENED_MESSAGE: NotificationKind = 'return_requested';

export interface ReturnTransition {
  readonly to: ReturnStatus;
  /** The message this step owes the customer, once per return. */
  readonly message?: NotificationKind;
  /** The units move from shipped back to available (and count as returned). */
  readonly restock?: boolean;
  /** The returned lines' amount is refunded (through a refund of the order). */
  readonly refund?: boolean;
  /** The units are no longer claimed by the return: another return may ask for them. */
  readonly freesUnits?: boolean;
}

/** (status, event) → next status and its consequences. A pair missing here is refused. */
export const RETURN_TRANSITIONS = {
  REQUESTED: {
    ReturnReceived: { to: 'RECEIVED', message: 'return_received', restock: true, refund: true },
    ReturnRejected: { to: 'REJECTED', message: 'return_rejected', freesUnits: true },
    ReturnCancelled: { to: 'CANCELLED', message: 'return_cancelled', freesUnits: true },
  },
  RECEIVED: {
    // The refund of the lines' amount settled at the gateway (its message is the refund's own).
    ReturnRefunded: { to: 'REFUNDED' },
  },
  REFUNDED: {},
  REJECTED: {},
  CANCELLED: {},
} as const satisfies Readonly<Record<ReturnStatus, Partial<Readonly<Record<ReturnEvent, ReturnTransition>>>>>;

type Row = { from: ReturnStatus; event: ReturnEvent } & ReturnTransition;

/** Every row of the table, flattened. */
export const RETURN_ROWS: readonly Row[] = RETURN_STATUSES.flatMap((from) =>
  (Object.entries(RETURN_TRANSITIONS[from]) as [ReturnEvent, ReturnTransition][]).map(([event, t]) => ({ from, event, ...t })),
);

export type ReturnTransitionResult =
  | { ok: true; from: ReturnStatus; to: ReturnStatus; transition: ReturnTransition }
  | { ok: false; refusal: { kind: 'InvalidReturnTransition'; from: ReturnStatus; event: ReturnEvent; message: string } };

/** Applies `event` to a return in `status`, or says why it cannot. */
export function applyReturnEvent(status: ReturnStatus, event: ReturnEvent): ReturnTransitionResult {
  const transition = (RETURN_TRANSITIONS[status] as Partial<Record<ReturnEvent, ReturnTransition>>)[event];
  if (!transition) {
    return {
      ok: false,
      refusal: {
        kind: 'InvalidReturnTransition',
        from: status,
        event,
        message: `${event} is not allowed while the return is ${status}`,
      },
    };
  }
  return { ok: true, from: status, to: transition.to, transition };
}

export function canApplyReturn(status: ReturnStatus, event: ReturnEvent): boolean {
  return applyReturnEvent(status, event).ok;
}

/** The one row into `status`, if one leads there (the table has one way into each status). */
function rowInto(status: ReturnStatus): Row | undefined {
  return RETURN_ROWS.find((r) => r.to === status);
}

/** The rows a return in `status` has been through, oldest first. */
export function pathTo(status: ReturnStatus): Row[] {
  const path: Row[] = [];
  for (let row = rowInto(status); row; row = rowInto(row.from)) path.unshift(row);
  return path;
}

export const TERMINAL_RETURN_STATUSES: readonly ReturnStatus[] = RETURN_STATUSES.filter(
  (s) => Object.keys(RETURN_TRANSITIONS[s]).length === 0,
);

/** Still open: the operator or the customer has something left to do. */
export const OPEN_RETURN_STATUSES: readonly ReturnStatus[] = RETURN_STATUSES.filter((s) => !TERMINAL_RETURN_STATUSES.includes(s));

/** The statuses whose units still count against what may be returned (none freed them). */
export const CLAIMING_RETURN_STATUSES: readonly ReturnStatus[] = RETURN_STATUSES.filter(
  (s) => !pathTo(s).some((r) => r.freesUnits),
);

/** The statuses whose units have gone back on sale (a restocking row is on the path). */
export const RESTOCKED_RETURN_STATUSES: readonly ReturnStatus[] = RETURN_STATUSES.filter((s) => pathTo(s).some((r) => r.restock));

/** The messages a return in `status` has owed the customer by now, oldest first. */
export function owedReturnMessages(status: ReturnStatus): NotificationKind[] {
  return [RETURN_OPENED_MESSAGE, ...pathTo(status).flatMap((r) => (r.message ? [r.message] : []))];
}

/** The customer messages of a return's steps. */
export const RETURN_MESSAGES: readonly NotificationKind[] = [
  RETURN_OPENED_MESSAGE,
  ...RETURN_ROWS.flatMap((r) => (r.message ? [r.message] : [])),
];
