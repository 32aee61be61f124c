/**
 * The carrier's webhook (a parcel delivered, or a parcel of returned goods back at the shop),
 * signed as Stripe signs its own: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>."
 * followed by the raw body>`. The timestamp is signed with the body, and a delivery whose
 * timestamp is further than the tolerance from now is refused: a captured delivery cannot be
 * replayed later. The signature is checked on the raw bytes before anything reads them as JSON.
 */
import { createHmac } from 'node:crypto';
import { createRoute } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Db } from '../db/client.ts';
import { getOrder } from '../db/orders.ts';
import { receiveParcel } from '../db/return-receipt.ts';
import { markDelivered, orderOfTrackingNumber } from '../db/shipments.ts';
import { sameSecret } from './admin-auth.ts';
import { jsonBody } from './body.ts';
import { problemResponses } from './problem.ts';
import { UnauthorizedError } from './refusals.ts';
import { createRouter } from './router.ts';
import { CarrierWebhookBody, OrderSchema, SignatureHeaders, json } from './schemas.ts';
import { orderView } from '../views.ts';

/**
 * What a refused delivery is told to send: a signature of the body, in the carrier's own realm
 * (not the admin's, and not the storefronts').
 */
export const SIGNATURE_CHALLENGE = 'HMAC-SHA256 realm="carrier-webhook", header="X-Signature"';

/** Default of WEBHOOK_TOLERANCE_S: Stripe's. */
export const DEFAULT_TOLERANCE_S = 300;

/** The hex HMAC-SHA256 of `<t>.` and a body's bytes (a string is taken as its UTF-8 bytes). */
function digest(timestampS: number, body: string | Uint8Array, secret: string): string {
  return createHmac('sha256', secret).update(`${timestampS}.`).update(body).digest('hex');
}

/** The X-Signature value of a delivery of `body` signed at `atMs` (now by default). */
export function signBody(body: string | Uint8Array, secret: string, atMs: number = Date.now()): string {
  const t = Math.floor(atMs / 1000);
  return `t=${t},v1=${digest(t, body, secret)}`;
}

const SIGNATURE_FORMAT = 'must be t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." and the raw body>';

function verifySignature(secret: string, toleranceS: number, now: () => number): MiddlewareHandler {
  return async (c, next) => {
    // The bytes as sent, before any decoding: the size limit is enforced for every route in server.ts.
    const raw = new Uint8Array(await c.req.arrayBuffer());
    const parts = new Map<string, string[]>();
    for (const item of (c.req.header('x-signature') ?? '').split(',')) {
      const at = item.indexOf('=');
      if (at <= 0) continue;
      const key = item.slice(0, at).trim();
      parts.set(key, [
        ...(parts.get(key) ?? []),
        item
          .slice(at + 1)
          .trim()
          .toLowerCase(),
      ]);
    }
    const t = Number(parts.get('t')?.[0]);
    const signatures = parts.get('v1') ?? [];
    if (!Number.isInteger(t) || signatures.length === 0) {
      throw new UnauthorizedError(`The X-Signature header is missing or malformed: it ${SIGNATURE_FORMAT}.`, SIGNATURE_CHALLENGE);
    }
    const expected = digest(t, raw, secret);
    // Several v1 values are allowed, as while a secret is rotated: one must match.
    if (!signatures.some((signature) => sameSecret(signature, expected))) {
      throw new UnauthorizedError('The X-Signature does not match the body and its timestamp.', SIGNATURE_CHALLENGE);
    }
    if (Math.abs(now() / 1000 - t) > toleranceS) {
      throw new UnauthorizedError(
        `The X-Signature timestamp is more than ${toleranceS} s from now: a replayed delivery, or the sender's clock is off.`,
        SIGNATURE_CHALLENGE,
      );
    }
    await next();
  };
}

export function webhookRoutes(deps: {
  db: Db;
  webhookSecret: string;
  /** How far a delivery's signed timestamp may be from now, in seconds (WEBHOOK_TOLERANCE_S). */
  toleranceS?: number;
  now: () => number;
  onCommit: () => void;
}) {
  const app = createRouter();

  const carrierRoute = createRoute({
    method: 'post',
    path: '/carrier',
    operationId: 'carrierWebhook',
    tags: ['Webhooks'],
    summary: 'The carrier reports a delivery, or a parcel back',
    description:
      '`delivered` moves the shipped order to COMPLETED. `returned` receives the return its `returnId` names, or, without ' +
      'one, every return of the order still REQUESTED (its units go back on sale and their amount is refunded). A return ' +
      'that is not the order’s is a 404, one rejected or cancelled a 409. A repeated report changes nothing.',
    middleware: [verifySignature(deps.webhookSecret, deps.toleranceS ?? DEFAULT_TOLERANCE_S, deps.now), jsonBody] as const,
    request: { headers: SignatureHeaders, body: { ...json(CarrierWebhookBody), required: true } },
    responses: {
      200: { description: 'The order, now COMPLETED, or with its returns received.', ...json(OrderSchema) },
      ...problemResponses(400, 401, 404, 409, 413, 415),
    },
  });

  app.openapi(carrierRoute, async (c) => {
    const { trackingNumber, status, returnId } = c.req.valid('json');
    if (status === 'returned') {
      const orderId = await orderOfTrackingNumber(deps.db, trackingNumber);
      await receiveParcel(deps.db, { trackingNumber, returnId }, deps.now());
      deps.onCommit();
      return c.json(orderView(await getOrder(deps.db, orderId)), 200);
    }
    const order = await markDelivered(deps.db, trackingNumber, deps.now());
    deps.onCommit();
    return c.json(orderView(await getOrder(deps.db, order.id)), 200);
  });

  return app;
}
