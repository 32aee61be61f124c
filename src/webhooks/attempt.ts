/**
 * One attempt of one delivery, as plan → call → record: read the delivery, its event and its
 * endpoint (no transaction), POST the signed message (no transaction open across the network),
 * then record how it went, on the delivery and in its history of attempts, in one short
 * transaction, which also decides the next attempt (retry-schedule.ts) or gives the delivery up,
 * and disables an endpoint that answered 410 or has failed for too long. The delivery row is the
 * truth: an attempt run twice (a worker killed after the POST) sends the same message again with
 * the same `webhook-id`, and records nothing the second time once the first recorded.
 */
import type { Db } from '../db/client.ts';
import { orderItemsOf } from '../db/orders.ts';
import { giveUpDelivery, loadAttempt, recordAttempt, type Attempt, type AttemptRecord } from '../db/webhook-deliveries.ts';
import type { EndpointSlots } from './endpoint-slots.ts';
import { signingSecrets } from '../db/webhook-endpoints.ts';
import type { WebhookPoster } from './http-post.ts';
import { renderMessage } from './payload.ts';
import { nextAttempt, type RetrySchedule } from './retry-schedule.ts';
import { signedHeaders } from './signature.ts';

/** What came of an attempt, for the metrics and the job. */
export type AttemptOutcome =
  | { kind: 'delivered' }
  | { kind: 'retry'; retryAt: number }
  | { kind: 'given_up'; disabled?: string }
  /** Nothing to do: delivered or given up already, deleted, or not due yet (`at`). */
  | { kind: 'skipped'; why: string; at?: number };

export interface AttemptDeps {
  db: Db;
  poster: Pick<WebhookPoster, 'post'>;
  schedule: RetrySchedule;
  /** How long an endpoint may fail every attempt before it is disabled. */
  disableAfterMs: number;
  now: () => number;
  random?: () => number;
  /** Attempts in flight per endpoint in this process: one slow endpoint holds a few slots, never all. */
  slots?: EndpointSlots;
}

/**
 * Attempts delivery `deliveryId`. With its endpoint known from the job (`endpointId`), the
 * endpoint's slot is taken before anything is read, so that an attempt turned away costs no read.
 */
export async function attemptDelivery(deps: AttemptDeps, deliveryId: string, endpointId?: string): Promise<AttemptOutcome> {
  const { db, now, slots } = deps;
  let held: string | undefined;
  const release = () => {
    if (held !== undefined) slots?.release(held);
    held = undefined;
  };
  const turnedAway = (id: string): AttemptOutcome => ({
    kind: 'skipped',
    why: 'endpoint busy',
    at: now() + slots!.turnedAwayMs(id),
  });
  try {
    if (slots && endpointId !== undefined) {
      if (!(await slots.take(endpointId))) return turnedAway(endpointId);
      held = endpointId;
    }
    const attempt = await loadAttempt(db, deliveryId);
    if (!attempt) return { kind: 'skipped', why: 'no such delivery' };
    const { delivery, event, endpoint } = attempt;
    if (delivery.status !== 'PENDING') return { kind: 'skipped', why: `already ${delivery.status.toLowerCase()}` };
    if (!endpoint) return { kind: 'skipped', why: 'endpoint deleted' };
    if (!endpoint.enabled) {
      await giveUpDelivery(db, delivery.id, `endpoint disabled: ${endpoint.disabledReason ?? 'by an operator'}`, now());
      return { kind: 'given_up' };
    }
    // Run early (a re-drive racing a recorded retry): wait for its time.
    if (delivery.nextAttemptAt > now() + 1_000) return { kind: 'skipped', why: 'not due yet', at: delivery.nextAttemptAt };
    if (slots && held === undefined) {
      if (!(await slots.take(endpoint.id))) return turnedAway(endpoint.id);
      held = endpoint.id;
    }
    const body = renderMessage(event, await orderItemsOf(db, delivery.orderId));
    const sentAt = now();
    const headers = signedHeaders(signingSecrets(endpoint, sentAt), event.id, Math.floor(sentAt / 1000), body);
    const result = await deps.poster.post(endpoint.url, headers, body);
    // The endpoint's slot is free once it answered: recording is the database's business.
    release();
    return await recordOutcome(deps, { delivery, endpointId: endpoint.id }, result);
  } finally {
    release();
  }
}

/** Records how the attempt went and decides what follows it. */
async function recordOutcome(
  deps: AttemptDeps,
  { delivery, endpointId }: { delivery: Attempt['delivery']; endpointId: string },
  result: Awaited<ReturnType<WebhookPoster['post']>>,
): Promise<AttemptOutcome> {
  const { db, now } = deps;
  const at = now();
  const attempts = delivery.attempts + 1;
  let record: AttemptRecord;
  if ('status' in result && result.status >= 200 && result.status < 300) {
    record = { kind: 'delivered', statusCode: result.status };
  } else {
    const statusCode = 'status' in result ? result.status : null;
    const error =
      'status' in result ? `answered ${result.status}${result.body ? `: ${result.body.slice(0, 200)}` : ''}` : result.error;
    if (statusCode === 410) record = { kind: 'gone', statusCode, error };
    else {
      const next = nextAttempt(deps.schedule, attempts, delivery.windowStart, at, (deps.random ?? Math.random)());
      record =
        'retryAt' in next ? { kind: 'retry', retryAt: next.retryAt, statusCode, error } : { kind: 'given-up', statusCode, error };
    }
  }
  const recorded = await recordAttempt(
    db,
    {
      deliveryId: delivery.id,
      endpointId,
      number: attempts,
      durationMs: result.durationMs,
      record,
      disableAfterMs: deps.disableAfterMs,
    },
    at,
  );
  if (!recorded.recorded) return { kind: 'skipped', why: 'recorded by another run' };
  if (record.kind === 'delivered') return { kind: 'delivered' };
  if (record.kind === 'retry') return { kind: 'retry', retryAt: record.retryAt };
  return recorded.disabled ? { kind: 'given_up', disabled: recorded.disabled } : { kind: 'given_up' };
}
