/** The enumerated values of the webhook tables, shared by both engines' definitions. */
export const DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'GIVEN_UP'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * How one attempt of a delivery ended: a 2xx (`delivered`), a failure with another attempt
 * scheduled (`retry`), a failure after which the delivery was given up (`given-up`), or a 410
 * that disabled the endpoint (`gone`).
 */
export const ATTEMPT_OUTCOMES = ['delivered', 'retry', 'given-up', 'gone'] as const;
export type AttemptOutcomeName = (typeof ATTEMPT_OUTCOMES)[number];

/**
 * An order as a webhook event shows it: the order's row at that point, without what stays inside
 * (the payment token, the shipping address). Its lines never change once placed, so the payload is
 * rendered from this and the lines when it is sent (src/webhooks/payload.ts).
 */
export interface OrderSnapshot {
  id: string;
  status: string;
  paymentStatus: string;
  reason: string | null;
  customerId: string;
  email: string | null;
  totalCents: number;
  currency: string;
  trackingNumber: string | null;
  createdAt: number;
  updatedAt: number;
}
