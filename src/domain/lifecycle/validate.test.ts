/**
 * The lifecycle's tables are checked when order-machine.ts loads (lifecycle/validate.ts), as
 * Vendure checks its order process: the service's own tables pass, and each broken copy below is
 * caught with a sentence that names what is wrong.
 */
import { describe, expect, it } from 'vitest';
import { LIFECYCLE, validateLifecycle, type Lifecycle, type OrderStatus, type Resting } from '../order-machine.ts';

type Breakage = [string, (l: Lifecycle) => Lifecycle, string];

const withRow = (l: Lifecycle, from: OrderStatus, rows: Lifecycle['transitions'][OrderStatus]): Lifecycle => ({
  ...l,
  transitions: { ...l.transitions, [from]: rows },
});
const withResting = (l: Lifecycle, status: OrderStatus, resting: Resting): Lifecycle => ({
  ...l,
  resting: { ...l.resting, [status]: resting },
});
const { PAYMENT_PENDING, PAID, SHIPPED } = LIFECYCLE.transitions;

const BREAKAGES: Breakage[] = [
  [
    'a status no row leads into',
    (l) => withRow(l, 'PAID', { Cancelled: PAID.Cancelled, InventoryReservationFailed: PAID.InventoryReservationFailed }),
    'AWAITING_SHIPMENT cannot be reached from CREATED',
  ],
  [
    'a status the outside world must move that no event leaves',
    (l) => withRow(l, 'SHIPPED', {}),
    'SHIPPED waits on outside but no event leaves it',
  ],
  ['an end some event still leaves', (l) => withRow(l, 'SHIPPED', {}), 'COMPLETED cannot be reached from CREATED'],
  [
    'a status of the service that nothing re-drives',
    (l) => withResting(l, 'PAID', { on: 'service', redrive: [] }),
    'PAID waits on the service but nothing re-drives it',
  ],
  [
    'a re-drive of an event that does not lead into the status',
    (l) => withResting(l, 'PAID', { on: 'service', redrive: ['InventoryReserved'] }),
    'PAID re-drives InventoryReserved, which does not lead into PAID',
  ],
  [
    'a re-drive of an event no queue hears',
    (l) => withResting(l, 'PAID', { on: 'service', redrive: ['PaymentRequested' as never] }),
    'PAID re-drives PaymentRequested, which no queue hears',
  ],
  [
    'a way into FAILED without a reason',
    (l) =>
      withRow(l, 'PAYMENT_PENDING', {
        ...PAYMENT_PENDING,
        PaymentFailed: { to: 'FAILED', paymentStatus: 'DECLINED', message: 'payment_declined' },
      }),
    'PAYMENT_PENDING --PaymentFailed--> FAILED gives no reason, where other ways into FAILED do',
  ],
  [
    'a compensation on the way forward',
    (l) => withRow(l, 'SHIPPED', { Delivered: { ...SHIPPED.Delivered!, compensation: ['releaseStock'] } }),
    'SHIPPED --Delivered--> calls for compensation but does not end the order badly',
  ],
  [
    'a row that records a payment status and a compensation that sets another',
    (l) =>
      withRow(l, 'PAID', {
        ...PAID,
        InventoryReservationFailed: { ...PAID.InventoryReservationFailed!, paymentStatus: 'CAPTURED' },
      }),
    'PAID --InventoryReservationFailed--> records a payment status and a compensation that sets another',
  ],
  [
    'a compensation whose work nothing settles',
    (l) => ({
      ...l,
      compensations: {
        ...l.compensations,
        refund: { ...l.compensations.refund, request: { ...l.compensations.refund.request!, settledBy: 'StockReleased' } },
      },
    }),
    'refund is owed while payment is REFUND_PENDING, which StockReleased does not move on',
  ],
  [
    'a compensation that moves the payment where it cannot go',
    (l) => ({
      ...l,
      compensations: { ...l.compensations, voidUnasked: { calledFor: { paymentStatus: 'CAPTURED' }, setsPayment: 'VOIDED' } },
    }),
    'voidUnasked sets payment VOIDED, which a payment CAPTURED cannot move to',
  ],
  ['a message nobody sends', (l) => withRow(l, 'SHIPPED', { Delivered: { to: 'COMPLETED' } }), 'no row or fact sends delivered'],
  [
    'a message sent by two events',
    (l) =>
      withRow(l, 'CREATED', {
        ...l.transitions.CREATED,
        PaymentRequested: { to: 'PAYMENT_PENDING', message: 'order_confirmed' },
      }),
    'order_confirmed is sent by PaymentRequested and InventoryReserved, where one event must send it',
  ],
  [
    'a message sent by an event no queue hears',
    (l) =>
      withRow(withRow(l, 'PAID', { ...PAID, InventoryReserved: { to: 'AWAITING_SHIPMENT' } }), 'CREATED', {
        ...l.transitions.CREATED,
        PaymentRequested: { to: 'PAYMENT_PENDING', message: 'order_confirmed' },
      }),
    'order_confirmed is sent by PaymentRequested, which no queue hears',
  ],
  [
    'a stock status nothing reaches',
    (l) => ({ ...l, stockMoves: { ...l.stockMoves, RESERVED: { ShipmentCreated: 'SHIPPED' } } }),
    'stock RELEASED cannot be reached from NONE',
  ],
];

describe('the lifecycle check', () => {
  it('finds nothing wrong with the service own lifecycle', () => {
    expect(validateLifecycle(LIFECYCLE)).toEqual([]);
  });

  it.each(BREAKAGES)('catches %s', (_, breakIt, problem) => {
    expect(validateLifecycle(breakIt(LIFECYCLE))).toContain(problem);
  });

  it('lists every problem of a table broken in several places at once', () => {
    const broken = withResting(withRow(LIFECYCLE, 'SHIPPED', {}), 'PAID', { on: 'service', redrive: [] });
    expect(validateLifecycle(broken)).toEqual(
      expect.arrayContaining([
        'COMPLETED cannot be reached from CREATED',
        'SHIPPED waits on outside but no event leaves it',
        'PAID waits on the service but nothing re-drives it',
        'no row or fact sends delivered',
      ]),
    );
  });
});
