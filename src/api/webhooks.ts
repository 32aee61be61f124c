/**
 * The carrier's delivery webhook, signed with an HMAC-SHA256 of the raw body in `X-Signature`.
 * The signature is checked on the raw bytes before anything reads them as JSON.
 */
import { createHmac } from 'node:crypto';
import { createRoute } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Db } from '../db/client.ts';
import { getOrder } from '../db/orders.ts';
import { markDelivered } from '../db/shipments.ts';
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

/** The hex HMAC-SHA256 of a body's bytes (a string is taken as its UTF-8 bytes). */
export function signBody(body: string | Uint8Array, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

function verifySignature(secret: string): MiddlewareHandler {
  return async (c, next) => {
    // The bytes as sent, before any decoding: the size limit is enforced for every route in server.ts.
    const raw = new Uint8Array(await c.req.arrayBuffer());
    // Accept both a bare hex digest and the common "sha256=<hex>" form.
    const signature = (c.req.header('x-signature') ?? '')
      .replace(/^sha256=/i, '')
      .trim()
      .toLowerCase();
    if (!signature || !sameSecret(signature, signBody(raw, secret))) {
      throw new UnauthorizedError('The X-Signature header is missing or does not match the body.', SIGNATURE_CHALLENGE);
    }
    await next();
  };
}

export function webhookRoutes(deps: { db: Db; webhookSecret: string; now: () => number; onCommit: () => void }) {
  const app = createRouter();

  const carrierRoute = createRoute({
    method: 'post',
    path: '/carrier',
    operationId: 'carrierWebhook',
    tags: ['Webhooks'],
    summary: 'The carrier reports a delivery',
    description: 'Moves the shipped order to COMPLETED. A repeated delivery changes nothing.',
    middleware: [verifySignature(deps.webhookSecret), jsonBody] as const,
    request: { headers: SignatureHeaders, body: { ...json(CarrierWebhookBody), required: true } },
    responses: {
      200: { description: 'The order, now COMPLETED.', ...json(OrderSchema) },
      ...problemResponses(400, 401, 404, 409, 413, 415),
    },
  });

  app.openapi(carrierRoute, async (c) => {
    const order = await markDelivered(deps.db, c.req.valid('json').trackingNumber, deps.now());
    deps.onCommit();
    return c.json(orderView(await getOrder(deps.db, order.id)), 200);
  });

  return app;
}
