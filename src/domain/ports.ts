/**
 * The outside world as the service sees it: a payment gateway, a carrier and a notifier. The
 * sandbox/ folder holds simulated implementations; a real provider implements the same interface.
 */
import { TransientError } from './errors.ts';
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
  /** Refunds once per key; a charge takes several refunds that together never pass it. */
  refund(request: RefundRequest): Promise<{ refundId: string }>;
}

export interface Carrier {
  /** Creates the shipment for an order, once per order. */
  createShipment(request: { orderId: string; address: unknown }): Promise<{ trackingNumber: string }>;
  cancelShipment(request: { orderId: string }): Promise<void>;
}

export interface Notifier {
  /**
   * Sends one message; the same key never sends twice. `channel` says how it went out: `email`
   * is the simulated one, `smtp` a message a Mailer already delivered, recorded here so that the
   * ledger stays the one record of every message sent.
   */
  send(message: {
    idempotencyKey: string;
    orderId: string;
    kind: NotificationKind;
    channel: 'email' | 'smtp';
    recipient: string;
  }): Promise<void>;
}

/** What a customer message says about its order. */
export interface MessageFacts {
  orderId: string;
  customerName: string;
  items: readonly { sku: string; quantity: number; unitPriceCents: number }[];
  totalCents: number;
  currency: string;
  trackingNumber: string | null;
  reason: string | null;
  /** For a message about one refund or return of the order: which, and what it pays back. */
  subject?: MessageSubject;
}

export interface MessageSubject {
  /** The refund's or return's id. */
  id: string;
  /** The refund's amount, or what the return's lines are worth. */
  amountCents: number;
  /** The return's lines. */
  items?: readonly { sku: string; quantity: number }[];
  reason: string;
}

/**
 * How a mail server answered: `refused` is a permanent refusal (a 5xx reply), never worth
 * retrying. A server that cannot be reached, or answers 4xx, makes `send` throw instead.
 */
export type MailOutcome = { outcome: 'sent'; messageId: string } | { outcome: 'refused'; code: number; reason: string };

export interface Mailer {
  /** Emails one customer message; the same (order, kind) always carries the same Message-ID. */
  send(message: {
    to: string;
    kind: NotificationKind;
    facts: MessageFacts;
    /**
     * Asked right before the message is committed (the end of SMTP's DATA); false abandons the send
     * with a MailAbandoned error, the server keeping nothing.
     */
    stillEntitled?: () => Promise<boolean>;
  }): Promise<MailOutcome>;
}

/** A provider's failure worth retrying (the network, a timeout, a 5xx): the job retries with backoff. */
export class TransientGatewayError extends TransientError {
  override readonly name: string = 'TransientGatewayError';
}
