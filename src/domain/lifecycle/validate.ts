/**
 * Checks that the lifecycle's tables fit together, as Vendure's `validateTransitionDefinition`
 * checks its order process: a pure function that lists every problem it finds, run by
 * order-machine.ts when it loads (a service with an inconsistent lifecycle refuses to start) and
 * by a test on a broken copy. Each check guards a promise of DESIGN.md: no order stuck where the
 * service should move it, every compensation settled, every message sent by someone.
 */
import { isOutboxEvent, isSubjectKind, NOTIFICATION_KINDS, ORDER_EVENTS } from '../events.ts';
import { canMovePayment, PAYMENT_STATUSES, type PaymentStatus } from '../payment.ts';
import { messageEvidenceOf, notificationsByEvent } from './notifications.ts';
import {
  COMPENSATION_NAMES,
  ORDER_STATUSES,
  paymentsOf,
  rowsOf,
  STOCK_STATUSES,
  terminalStatusesOf,
  type Lifecycle,
  type OrderStatus,
  type StockStatus,
} from './tables.ts';

/** Every problem with `lifecycle`, one sentence each; empty when it is sound. */
export function validateLifecycle(lifecycle: Lifecycle): string[] {
  return [
    ...checkGraph(lifecycle),
    ...checkResting(lifecycle),
    ...checkPayments(lifecycle),
    ...checkCompensations(lifecycle),
    ...checkMessages(lifecycle),
  ];
}

/** Every status reachable from the initial one; every way into an unfulfilled end gives a reason. */
function checkGraph(l: Lifecycle): string[] {
  const problems: string[] = [];
  const rows = rowsOf(l.transitions);
  const reached = new Set<OrderStatus>([l.initialStatus]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const row of rows) {
      if (reached.has(row.from) && !reached.has(row.to)) {
        reached.add(row.to);
        grew = true;
      }
    }
  }
  for (const s of ORDER_STATUSES) if (!reached.has(s)) problems.push(`${s} cannot be reached from ${l.initialStatus}`);
  const terminal = terminalStatusesOf(l.transitions);
  for (const row of rows) {
    const at = `${row.from} --${row.event}-->`;
    if (row.reason && !terminal.includes(row.to)) problems.push(`${at} gives a reason but ${row.to} is not an end`);
    if (!row.reason && rows.some((r) => r.to === row.to && r.reason))
      problems.push(`${at} ${row.to} gives no reason, where other ways into ${row.to} do`);
  }
  const stock = new Set<StockStatus>([l.initialStock]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const from of [...stock]) {
      for (const to of Object.values(l.stockMoves[from])) {
        if (to && !stock.has(to)) {
          stock.add(to);
          grew = true;
        }
      }
    }
  }
  for (const s of STOCK_STATUSES) if (!stock.has(s)) problems.push(`stock ${s} cannot be reached from ${l.initialStock}`);
  return problems;
}

/** Every status left by some event unless it is an end; the service's own statuses re-driven by routed events. */
function checkResting(l: Lifecycle): string[] {
  const problems: string[] = [];
  const rows = rowsOf(l.transitions);
  for (const s of ORDER_STATUSES) {
    const { on, redrive } = l.resting[s];
    const leftBy = Object.keys(l.transitions[s]).length;
    if (on !== 'nobody' && leftBy === 0) problems.push(`${s} waits on ${on} but no event leaves it`);
    if (on === 'nobody' && leftBy > 0) problems.push(`${s} waits on nobody but events leave it`);
    if (on === 'nobody' && redrive.length > 0) problems.push(`${s} waits on nobody but re-drives ${redrive.join(', ')}`);
    if (on === 'service' && redrive.length === 0) problems.push(`${s} waits on the service but nothing re-drives it`);
    for (const event of redrive) {
      if (!isOutboxEvent(event)) problems.push(`${s} re-drives ${event}, which no queue hears`);
      // An order event re-driven is the one that brought the order here: its subscribers act again.
      else if ((ORDER_EVENTS as readonly string[]).includes(event) && !rows.some((r) => r.to === s && r.event === event))
        problems.push(`${s} re-drives ${event}, which does not lead into ${s}`);
    }
  }
  return problems;
}

/** Every payment status a row or a fact records is one a payment can come to. */
function checkPayments(l: Lifecycle): string[] {
  const problems: string[] = [];
  const reachable = paymentsReachableFrom(l.initialPaymentStatus);
  for (const row of rowsOf(l.transitions)) {
    if (row.paymentStatus && !reachable.has(row.paymentStatus))
      problems.push(`${row.from} --${row.event}--> records payment ${row.paymentStatus}, which no payment comes to`);
    if (row.paymentStatus && (row.compensation ?? []).some((c) => l.compensations[c].setsPayment))
      problems.push(`${row.from} --${row.event}--> records a payment status and a compensation that sets another`);
  }
  for (const [fact, effect] of Object.entries(l.factEffects)) {
    if (effect.paymentStatus && !reachable.has(effect.paymentStatus))
      problems.push(`${fact} records payment ${effect.paymentStatus}, which no payment comes to`);
    for (const event of [...(effect.requests ?? []), ...(effect.publishes ? [effect.publishes] : [])])
      if (!isOutboxEvent(event)) problems.push(`${fact} hands on ${event}, which no queue hears`);
  }
  return problems;
}

function paymentsReachableFrom(initial: PaymentStatus): Set<PaymentStatus> {
  const reached = new Set<PaymentStatus>([initial]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const from of [...reached]) {
      for (const to of PAYMENT_STATUSES) {
        if (!reached.has(to) && canMovePayment(from, to)) {
          reached.add(to);
          grew = true;
        }
      }
    }
  }
  return reached;
}

/** Each compensation is called for on a bad end, moves the payment legally, and its work is settled by a fact. */
function checkCompensations(l: Lifecycle): string[] {
  const problems: string[] = [];
  const rows = rowsOf(l.transitions);
  for (const row of rows) {
    if ((row.compensation ?? []).length > 0 && !row.reason)
      problems.push(`${row.from} --${row.event}--> calls for compensation but does not end the order badly`);
  }
  for (const name of COMPENSATION_NAMES) {
    const rule = l.compensations[name];
    if (!rows.some((r) => r.compensation?.includes(name))) problems.push(`no row calls for ${name}`);
    const setsPayment = rule.setsPayment;
    const from = paymentsOf(rule.calledFor);
    // Each payment it is called for moves there, or is there already.
    if (setsPayment && (from.length === 0 || from.some((p) => p !== setsPayment && !canMovePayment(p, setsPayment))))
      problems.push(
        `${name} sets payment ${setsPayment}, which a payment ${from.join(' or ') || 'in any status'} cannot move to`,
      );
    const request = rule.request;
    if (!request) continue;
    if (!isOutboxEvent(request.event)) problems.push(`${name} asks for ${request.event}, which no queue hears`);
    const owedPayments = paymentsOf(request.owedWhile);
    const owedStock = request.owedWhile.stockStatus;
    const settles = l.factEffects[request.settledBy];
    // A fact whose payment status follows from the refunds moves a REFUND_PENDING payment on once the last one settles.
    const movesOn = (p: PaymentStatus) =>
      settles.paymentByRefunds
        ? canMovePayment(p, 'REFUNDED') && canMovePayment(p, 'PARTIALLY_REFUNDED')
        : settles.paymentStatus !== undefined && canMovePayment(p, settles.paymentStatus);
    for (const owedPayment of owedPayments.filter((p) => !movesOn(p)))
      problems.push(`${name} is owed while payment is ${owedPayment}, which ${request.settledBy} does not move on`);
    const owedPayment = owedPayments[0];
    if (owedStock && !l.stockMoves[owedStock][request.settledBy])
      problems.push(`${name} is owed while stock is ${owedStock}, which ${request.settledBy} does not move on`);
    if (!owedPayment && !owedStock) problems.push(`${name} is owed in every position, so never settled`);
  }
  return problems;
}

/** Every message kind is sent by one event some queue hears, and an order's row can prove it owed. */
function checkMessages(l: Lifecycle): string[] {
  const problems: string[] = [];
  const pairs = notificationsByEvent(l);
  const evidence = messageEvidenceOf(l);
  for (const kind of NOTIFICATION_KINDS) {
    const events = pairs.filter(([, k]) => k === kind).map(([e]) => e);
    if (events.length === 0) problems.push(`no row or fact sends ${kind}`);
    if (events.length > 1) problems.push(`${kind} is sent by ${events.join(' and ')}, where one event must send it`);
    for (const event of events) if (!isOutboxEvent(event)) problems.push(`${kind} is sent by ${event}, which no queue hears`);
    // A message about one refund or return is proved owed by that refund's or return's row.
    if (isSubjectKind(kind)) {
      if (evidence.some((e) => e.kind === kind))
        problems.push(`${kind} is about a refund or return, yet an order's row proves it owed`);
    } else if (events.length > 0 && !evidence.some((e) => e.kind === kind))
      problems.push(`nothing on an order's row shows that ${kind} is owed`);
    for (const e of evidence)
      if (e.kind === kind && e.by === 'statuses' && e.statuses.length === 0)
        problems.push(`${kind} is owed in no status (its row is not the only way into any)`);
  }
  for (const [event] of pairs) {
    const kinds = pairs.filter(([e]) => e === event).map(([, k]) => k);
    if (kinds.length > 1) problems.push(`${event} sends ${kinds.join(' and ')}, where an event sends one message`);
  }
  return [...new Set(problems)];
}
