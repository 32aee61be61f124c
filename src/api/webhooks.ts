/**
 * The carrier's delivery webhook, signed with an HMAC-SHA256 of the raw body in `X-Signature`.
 */
import { createHmac } from 'node:crypto';
import { Hono } from 'hono';
import type { Db } from '../db/client.ts';
import { getOrder } from '../db/orders.ts';
import { markDelivered } from '../db/shipments.ts';
import { UnauthorizedError } from '../domain/errors.ts';
import { sameSecret } from './admin.ts';
import { parseJson, readText } from './body.ts';
import { validate } from './problem.ts';
import { CarrierWebhookBody, orderView } from './schemas.ts';

export function signBody(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

export function webhookRoutes(deps: { db: Db; webhookSecret: string; now: () => number; onCommit: () => void }): Hono {
  const app = new Hono();

  app.post('/carrier', async (c) => {
    const raw = await readText(c);
    // Accept both a bare hex digest and the common "sha256=<hex>" form.
    const signature = (c.req.header('x-signature') ?? '').replace(/^sha256=/i, '').trim().toLowerCase();
    if (!signature || !sameSecret(signature, signBody(raw, deps.webhookSecret))) {
      throw new UnauthorizedError('The X-Signature header is missing or does not match the body.');
    }
    const body = validate(CarrierWebhookBody, parseJson(raw));
    const order = markDelivered(deps.db, body.trackingNumber, deps.now());
    deps.onCommit();
    return c.json(orderView(getOrder(deps.db, order.id)));
  });

  return app;
}
