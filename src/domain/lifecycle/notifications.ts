/**
 * The customer's messages, read off the lifecycle's tables: which event sends which message, and
 * what on an order's row proves a message is owed. The proof is a tagged union with two readers,
 * `owedNotifications` here and the reconciler's SQL (db/reconcile.ts); each matches every tag, so
 * a new kind of proof does not compile until both can read it.
 */
import { NOTIFICATION_KINDS, type NotificationKind, type OutboxEvent } from '../events.ts';
import type { PaymentStatus } from '../payment.ts';
import type { OrderPosition } from './positions.ts';
import {
  LIFECYCLE,
  ORDER_STATUSES,
  rowsOf,
  type Lifecycle,
  type OrderReason,
  type OrderStatus,
  type StockStatus,
} from './tables.ts';

/** Which event, heard by the notification service, tells the customer what; each pair once. */
export function notificationsByEvent(lifecycle: Lifecycle): [string, NotificationKind][] {
  const pairs: [string, NotificationKind][] = [
    ...rowsOf(lifecycle.transitions).flatMap((r): [string, NotificationKind][] => (r.message ? [[r.event, r.message]] : [])),
    ...Object.values(lifecycle.factEffects).flatMap((f): [string, NotificationKind][] =>
      f.publishes && f.message ? [[f.publishes, f.message]] : [],
    ),
  ];
  return [...new Map(pairs.map((p) => [p.join('/'), p])).values()];
}

export const NOTIFICATION_FOR_EVENT: Readonly<Partial<Record<OutboxEvent, NotificationKind>>> = Object.fromEntries(
  notificationsByEvent(LIFECYCLE),
);

/** The event whose notification job sends a kind of message. */
export function eventForNotification(kind: NotificationKind): OutboxEvent {
  const entry = Object.entries(NOTIFICATION_FOR_EVENT).find(([, k]) => k === kind);
  if (!entry) throw new Error(`no event sends ${kind}`);
  return entry[0] as OutboxEvent;
}

/**
 * What on an order's row shows that a message is owed:
 * - `statuses`: every order in one of them has been through the row that owes the message
 *   (the row is the only way into a status on the path);
 * - `reason`: an order that ended in `status` with this reason took the row that gives it;
 * - `stockMoved`: the stock moved on from `from` by the row (InventoryReserved owes the
 *   confirmation, whatever happened to the stock after);
 * - `paymentStatus`: a fact that records this payment status owes the message.
 */
export type MessageEvidence =
  | { readonly by: 'statuses'; readonly kind: NotificationKind; readonly statuses: readonly OrderStatus[] }
  | { readonly by: 'reason'; readonly kind: NotificationKind; readonly status: OrderStatus; readonly reason: OrderReason }
  | { readonly by: 'stockMoved'; readonly kind: NotificationKind; readonly from: StockStatus }
  | { readonly by: 'paymentStatus'; readonly kind: NotificationKind; readonly paymentStatus: PaymentStatus };

/** The evidence for every message the lifecycle sends, derived from its rows and facts. */
export function messageEvidenceOf(lifecycle: Lifecycle): MessageEvidence[] {
  const evidence: MessageEvidence[] = [];
  const rows = rowsOf(lifecycle.transitions);
  const onlyWayInto = (s: OrderStatus) => {
    const into = rows.filter((r) => r.to === s);
    return into.length === 1 ? into[0] : undefined;
  };
  for (const row of rows) {
    if (!row.message) continue;
    if (row.reason) {
      evidence.push({ by: 'reason', kind: row.message, status: row.to, reason: row.reason });
      continue;
    }
    if (lifecycle.stockMoves[lifecycle.initialStock][row.event]) {
      evidence.push({ by: 'stockMoved', kind: row.message, from: lifecycle.initialStock });
      continue;
    }
    // Every status reached only through this row, and through the statuses after it.
    const statuses = ORDER_STATUSES.filter((s) => {
      for (let at = onlyWayInto(s); at; at = onlyWayInto(at.from)) if (at === row) return true;
      return false;
    });
    evidence.push({ by: 'statuses', kind: row.message, statuses });
  }
  for (const f of Object.values(lifecycle.factEffects)) {
    if (f.message && f.paymentStatus) evidence.push({ by: 'paymentStatus', kind: f.message, paymentStatus: f.paymentStatus });
  }
  // The four Cancelled rows give one piece of evidence.
  return [...new Map(evidence.map((e) => [JSON.stringify(e), e])).values()];
}

/** The reconciler's SQL and `owedNotifications` both read this list. */
export const MESSAGE_EVIDENCE: readonly MessageEvidence[] = messageEvidenceOf(LIFECYCLE);

/** Whether the order's row shows what `evidence` asks for. */
export function shows(order: OrderPosition & { reason: OrderReason | null }, evidence: MessageEvidence): boolean {
  switch (evidence.by) {
    case 'statuses':
      return evidence.statuses.includes(order.status);
    case 'reason':
      return order.status === evidence.status && order.reason === evidence.reason;
    case 'stockMoved':
      return order.stockStatus !== evidence.from;
    case 'paymentStatus':
      return order.paymentStatus === evidence.paymentStatus;
    default: {
      const unread: never = evidence;
      throw new Error(`unread message evidence ${JSON.stringify(unread)}`);
    }
  }
}

/** The messages the customer should have had by now, given where the order rests. */
export function owedNotifications(order: OrderPosition & { reason: OrderReason | null }): NotificationKind[] {
  const owed = new Set(MESSAGE_EVIDENCE.filter((e) => shows(order, e)).map((e) => e.kind));
  return NOTIFICATION_KINDS.filter((k) => owed.has(k));
}
