/**
 * The outside world as the service sees it: a payment gateway, a carrier and a notifier. The
 * sandbox/ folder holds simulated implementations; a real provider implements the same interface.
 */
import type { NotificationKind } from './events.ts';

export type ChargeOutcome =
  | { outcome: 'captured'; chargeId: string }
  | { outcome: 'declined'; code: string }
  /** The key was voided before any charge landed: nothing was or will be captured. */
  | { outcome: 'voided' };

export interface ChargeRequest {
  /** The same key always means the same charge; the service uses the order id. */
  idempotencyKey: string;
  orderId: string;
  amountCents: number;
  currency: string;
  token: string;
}

export interface RefundRequest {
  idempotencyKey: string;
  orderId: string;
  chargeId: string;
  amountCents: number;
}

export interface PaymentGateway {
  /** Charges once per key. Throws TransientGatewayError when the call may be retried. */
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
  /** Stops any later charge under this key; answers what the key ended as. */
  void(request: { idempotencyKey: string; orderId: string }): Promise<ChargeOutcome>;
  /** Refunds once per key. */
  refund(request: RefundRequest): Promise<{ refundId: string }>;
}

export interface Carrier {
  /** Creates the shipment for an order, once per order. */
  createShipment(request: { orderId: string; address: unknown }): Promise<{ trackingNumber: string }>;
  cancelShipment(request: { orderId: string }): Promise<void>;
}

export interface Notifier {
  /** Sends one message; the same key never sends twice. */
  send(message: {
    idempotencyKey: string;
    orderId: string;
    kind: NotificationKind;
    channel: 'email';
    recipient: string;
  }): Promise<void>;
}

/** A failure worth retrying: the network, a timeout, a 5xx. */
export class TransientGatewayError extends Error {
  override readonly name: string = 'TransientGatewayError';
}
