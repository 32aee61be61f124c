/**
 * The console's webhook routes: the webhooks page, a delivery's page with its attempts, and their
 * actions as plain form POSTs that redirect back (resend one delivery, from its order's page, its
 * own or the webhooks page; enable an endpoint; resend everything given up for it). Behind the
 * admin token and the cross-site guard like the rest of /admin (server.ts).
 */
import { type Context, Hono } from 'hono';
import {
  attemptsOf,
  deliveryCounts,
  findDeliveryView,
  recentDeliveries,
  resendDelivery,
  resendGivenUp,
} from '../db/webhook-deliveries.ts';
import { findEndpoint, listEndpoints, updateEndpoint } from '../db/webhook-endpoints.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { ConsoleDeps } from './data.ts';
import { DeliveryPage } from './delivery-page.tsx';
import { MessagePage } from './list-page.tsx';
import { orderHref } from './layout.tsx';
import { CONSOLE_PATH } from './paths.ts';
import { page } from './routes.tsx';
import { WEBHOOKS_PATH } from './webhook-parts.tsx';
import { isWebhookOutcome, type WebhookOutcome, WebhooksPage } from './webhooks-page.tsx';

const RECENT = 50;

function back(c: Context, to: string, outcome: WebhookOutcome): Response {
  // Only back into the console, whatever the form said.
  const target = to.startsWith(`${CONSOLE_PATH}/`) && !to.includes('//') && !to.includes('?') ? to : WEBHOOKS_PATH;
  // An order's page has outcomes of its own.
  const done = target.startsWith(orderHref('')) ? (outcome === 'resent' ? 'webhook-resent' : 'webhook-not-resent') : outcome;
  return c.redirect(`${target}?done=${done}`, 303);
}

export function consoleWebhookRoutes(deps: ConsoleDeps): Hono {
  const app = new Hono();
  const { db } = deps;

  app.get(WEBHOOKS_PATH, async (c) => {
    const done = c.req.query('done');
    const data = {
      endpoints: await listEndpoints(db),
      counts: await deliveryCounts(db),
      recent: await recentDeliveries(db, RECENT),
    };
    return page(c, <WebhooksPage data={data} outcome={isWebhookOutcome(done) ? done : undefined} />);
  });

  app.get(`${WEBHOOKS_PATH}/deliveries/:id`, async (c) => {
    const id = c.req.param('id');
    const delivery = await findDeliveryView(db, id);
    if (!delivery)
      return page(
        c,
        <MessagePage title="No such delivery">No webhook delivery has the id {JSON.stringify(id)}.</MessagePage>,
        404,
      );
    const endpoint = await findEndpoint(db, delivery.endpointId);
    const done = c.req.query('done');
    return page(
      c,
      <DeliveryPage
        delivery={delivery}
        endpoint={endpoint ? (endpoint.description ?? endpoint.url) : `${delivery.endpointId} (deleted)`}
        attempts={await attemptsOf(db, id)}
        outcome={isWebhookOutcome(done) ? done : undefined}
      />,
    );
  });

  app.post(`${WEBHOOKS_PATH}/deliveries/:id/resend`, async (c) => {
    const form = await c.req.parseBody();
    const to = typeof form.back === 'string' ? form.back : WEBHOOKS_PATH;
    try {
      await resendDelivery(db, c.req.param('id'), deps.now());
    } catch (error) {
      if (error instanceof NotFoundError) return back(c, to, 'no-such-delivery');
      throw error;
    }
    deps.onCommit();
    return back(c, to, 'resent');
  });

  app.post(`${WEBHOOKS_PATH}/endpoints/:id/enable`, async (c) => {
    const id = c.req.param('id');
    if (!(await findEndpoint(db, id))) return back(c, WEBHOOKS_PATH, 'no-such-endpoint');
    await updateEndpoint(db, id, { enabled: true }, deps.now());
    return back(c, WEBHOOKS_PATH, 'enabled');
  });

  app.post(`${WEBHOOKS_PATH}/endpoints/:id/resend-given-up`, async (c) => {
    const id = c.req.param('id');
    if (!(await findEndpoint(db, id))) return back(c, WEBHOOKS_PATH, 'no-such-endpoint');
    const resent = await resendGivenUp(db, id, deps.now());
    if (resent > 0) deps.onCommit();
    return back(c, WEBHOOKS_PATH, resent > 0 ? 'resent-all' : 'nothing-to-resend');
  });

  return app;
}
