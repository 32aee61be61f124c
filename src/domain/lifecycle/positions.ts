/**
 * Where an order stands, read off the lifecycle's tables: ended or not, waiting on whom, at rest,
 * still awaiting the gateway. Callers ask these instead of naming statuses.
 */
import type { PaymentStatus } from '../payment.ts';
import {
  INITIAL_PAYMENT_STATUS,
  ORDER_STATUSES,
  RESTING,
  rowsOf,
  terminalStatusesOf,
  TRANSITIONS,
  type OrderStatus,
  type StockStatus,
} from './tables.ts';

/** An order's place in the lifecycle: its status, and what it holds beside it. */
export interface OrderPosition {
  status: OrderStatus;
  paymentStatus: PaymentStatus;
  stockStatus: StockStatus;
}

export const TERMINAL_STATUSES: readonly OrderStatus[] = terminalStatusesOf(TRANSITIONS);

export function isTerminal(status: OrderStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Ended without the goods reaching the customer: a status some row enters with a reason. */
const UNFULFILLED_STATUSES: readonly OrderStatus[] = ORDER_STATUSES.filter((s) =>
  rowsOf(TRANSITIONS).some((row) => row.to === s && row.reason),
);

export function endedUnfulfilled(status: OrderStatus): boolean {
  return UNFULFILLED_STATUSES.includes(status);
}

/** The statuses in which an order waits on the service, and must be re-driven if it stops. */
export const MOVING_STATUSES: readonly OrderStatus[] = ORDER_STATUSES.filter((s) => RESTING[s].redrive.length > 0);

/** The statuses from which the service itself must move an order (none may stay there). */
export const SERVICE_STATUSES: readonly OrderStatus[] = ORDER_STATUSES.filter((s) => RESTING[s].on === 'service');

export function waitsOnService(status: OrderStatus): boolean {
  return SERVICE_STATUSES.includes(status);
}

/** Waiting on the carrier (for its shipment or the delivery): at rest as far as we can tell. */
export function waitsOnOutside(status: OrderStatus): boolean {
  return RESTING[status].on === 'outside';
}

/**
 * The gateway has not answered for this payment yet: it is still where every payment starts
 * (a charge may be in flight). Its answer, or a void, moves it on, once.
 */
export function awaitsGatewayAnswer(order: { paymentStatus: PaymentStatus }): boolean {
  return order.paymentStatus === INITIAL_PAYMENT_STATUS;
}
