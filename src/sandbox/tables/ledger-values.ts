/** The values the sandbox's ledgers allow in their enumerated columns, shared by both databases' tables. */

/** What the simulated gateway decided for one payment idempotency key. */
export const PAYMENT_INTENT_OUTCOMES = ['captured', 'declined', 'voided', 'pending'] as const;

/** Where a simulated shipment stands. */
export const SHIPMENT_STATUSES = ['created', 'cancelled'] as const;
