/**
 * How endpoints and deliveries look from outside: the admin API's answers, the console's and the
 * CLI's. Never the secret, but for the one answer that creates or rotates it.
 */
import type { AttemptRow, DeliveryView } from '../db/webhook-deliveries.ts';
import type { EndpointRow } from '../db/webhook-endpoints.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function endpointView(e: EndpointRow, now: number) {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    events: e.events,
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    failingSince: iso(e.failingSince),
    previousSecretExpiresAt:
      e.previousSecretExpiresAt !== null && e.previousSecretExpiresAt > now ? iso(e.previousSecretExpiresAt) : null,
    createdAt: iso(e.createdAt)!,
    updatedAt: iso(e.updatedAt)!,
  };
}

export function deliveryView(d: DeliveryView) {
  return {
    id: d.id,
    endpointId: d.endpointId,
    eventId: d.eventId,
    eventType: d.eventType,
    orderId: d.orderId,
    orderVersion: d.orderVersion,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.status === 'PENDING' ? iso(d.nextAttemptAt) : null,
    lastAttemptAt: iso(d.lastAttemptAt),
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    deliveredAt: iso(d.deliveredAt),
    createdAt: iso(d.createdAt)!,
  };
}

export function attemptView(a: AttemptRow) {
  return {
    number: a.number,
    attemptedAt: iso(a.attemptedAt)!,
    durationMs: a.durationMs,
    statusCode: a.statusCode,
    error: a.error,
    outcome: a.outcome,
  };
}
