/**
 * Webhook endpoints, as integrators' systems are registered to hear of orders: create (the secret
 * is answered once), list, read, change, delete, rotate the secret, list deliveries, read one
 * delivery with its history of attempts, and resend one delivery or everything given up for an
 * endpoint. Behind the admin token and the cross-site guard, like the rest of /admin (server.ts).
 * A URL is checked against the SSRF policy here (and again, after DNS, at every delivery).
 */
import { createRoute } from '@hono/zod-openapi';
import type { Db } from '../db/client.ts';
import { attemptsOf, deliveriesOfEndpoint, getDeliveryView, resendDelivery, resendGivenUp } from '../db/webhook-deliveries.ts';
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listEndpoints,
  rotateSecret,
  updateEndpoint,
} from '../db/webhook-endpoints.ts';
import { UnprocessableError } from '../domain/errors.ts';
import { resolvedProblem, urlProblem } from '../webhooks/safe-target.ts';
import { newSecret } from '../webhooks/signature.ts';
import { attemptView, deliveryView, endpointView } from '../webhooks/views.ts';
import { jsonBody } from './body.ts';
import { problemResponses } from './problem.ts';
import { createRouter } from './router.ts';
import { ADMIN_SECURITY } from './security.ts';
import { json } from './schemas.ts';
import {
  CreateEndpointBody,
  DeliveriesQuery,
  DeliveryIdParam,
  DeliveryListSchema,
  DeliverySchema,
  DeliveryWithAttemptsSchema,
  EndpointIdParam,
  EndpointListSchema,
  EndpointSchema,
  EndpointWithSecretSchema,
  ResentSchema,
  UpdateEndpointBody,
} from './webhook-schemas.ts';

const security = ADMIN_SECURITY;
const tags = ['Webhook endpoints'];
const BASE = '/webhook-endpoints';

const createEndpointRoute = createRoute({
  method: 'post',
  path: BASE,
  operationId: 'createWebhookEndpoint',
  tags,
  summary: 'Register a webhook endpoint',
  description:
    'The endpoint receives the event types it names, each signed per the Standard Webhooks specification with the `secret` answered here, and only here.',
  security,
  middleware: [jsonBody] as const,
  request: { body: { ...json(CreateEndpointBody), required: true } },
  responses: {
    201: { description: 'The endpoint, with its signing secret.', ...json(EndpointWithSecretSchema) },
    ...problemResponses(400, 401, 413, 415, 422),
  },
});

const listEndpointsRoute = createRoute({
  method: 'get',
  path: BASE,
  operationId: 'listWebhookEndpoints',
  tags,
  summary: 'Every webhook endpoint',
  description: 'Every registered endpoint, oldest first, without secrets.',
  security,
  responses: { 200: { description: 'The endpoints.', ...json(EndpointListSchema) }, ...problemResponses(401) },
});

const getEndpointRoute = createRoute({
  method: 'get',
  path: `${BASE}/{id}`,
  operationId: 'getWebhookEndpoint',
  tags,
  summary: 'One webhook endpoint',
  description: 'The endpoint, without its secret; `disabledReason` says why a disabled one was.',
  security,
  request: { params: EndpointIdParam },
  responses: { 200: { description: 'The endpoint.', ...json(EndpointSchema) }, ...problemResponses(401, 404) },
});

const updateEndpointRoute = createRoute({
  method: 'patch',
  path: `${BASE}/{id}`,
  operationId: 'updateWebhookEndpoint',
  tags,
  summary: 'Change a webhook endpoint',
  description: 'Changes its URL, event types or description, or enables or disables it; fields left out stay as they are.',
  security,
  middleware: [jsonBody] as const,
  request: { params: EndpointIdParam, body: { ...json(UpdateEndpointBody), required: true } },
  responses: {
    200: { description: 'The endpoint, changed.', ...json(EndpointSchema) },
    ...problemResponses(400, 401, 404, 413, 415, 422),
  },
});

const deleteEndpointRoute = createRoute({
  method: 'delete',
  path: `${BASE}/{id}`,
  operationId: 'deleteWebhookEndpoint',
  tags,
  summary: 'Delete a webhook endpoint',
  description: 'Deletes the endpoint and its deliveries; nothing more is sent to it.',
  security,
  request: { params: EndpointIdParam },
  responses: { 204: { description: 'Deleted.' }, ...problemResponses(401, 404) },
});

const rotateSecretRoute = createRoute({
  method: 'post',
  path: `${BASE}/{id}/rotate-secret`,
  operationId: 'rotateWebhookEndpointSecret',
  tags,
  summary: 'Rotate an endpoint’s signing secret',
  description:
    'Answers a new secret. The old one keeps signing beside it (two signatures in `webhook-signature`) for WEBHOOK_SECRET_GRACE_MS, so the receiver can switch without missing a message.',
  security,
  request: { params: EndpointIdParam },
  responses: {
    200: { description: 'The endpoint, with its new secret.', ...json(EndpointWithSecretSchema) },
    ...problemResponses(401, 404),
  },
});

const deliveriesRoute = createRoute({
  method: 'get',
  path: `${BASE}/{id}/deliveries`,
  operationId: 'listWebhookDeliveries',
  tags,
  summary: 'An endpoint’s deliveries',
  description: 'Its deliveries, newest first, with their attempts and how the last one went.',
  security,
  request: { params: EndpointIdParam, query: DeliveriesQuery },
  responses: { 200: { description: 'The deliveries.', ...json(DeliveryListSchema) }, ...problemResponses(400, 401, 404) },
});

const resendGivenUpRoute = createRoute({
  method: 'post',
  path: `${BASE}/{id}/resend-given-up`,
  operationId: 'resendGivenUpWebhookDeliveries',
  tags,
  summary: 'Resend everything given up for an endpoint',
  description: 'Every delivery of the endpoint that was given up is pending again, with a fresh retry window.',
  security,
  request: { params: EndpointIdParam },
  responses: {
    200: { description: 'How many deliveries are pending again.', ...json(ResentSchema) },
    ...problemResponses(401, 404),
  },
});

const deliveryRoute = createRoute({
  method: 'get',
  path: '/webhook-deliveries/{id}',
  operationId: 'getWebhookDelivery',
  tags,
  summary: 'One delivery, with every attempt',
  description: 'The delivery, and each attempt of it: when, how long, what the receiver answered and what followed.',
  security,
  request: { params: DeliveryIdParam },
  responses: {
    200: { description: 'The delivery and its attempts.', ...json(DeliveryWithAttemptsSchema) },
    ...problemResponses(401, 404),
  },
});

const resendDeliveryRoute = createRoute({
  method: 'post',
  path: '/webhook-deliveries/{id}/resend',
  operationId: 'resendWebhookDelivery',
  tags,
  summary: 'Resend one delivery',
  description: 'Sends the delivery again, whatever became of it, with the same `webhook-id` and a fresh retry window.',
  security,
  request: { params: DeliveryIdParam },
  responses: {
    200: { description: 'The delivery, pending again.', ...json(DeliverySchema) },
    ...problemResponses(401, 404),
  },
});

export interface AdminWebhookDeps {
  db: Db;
  now: () => number;
  /** Kicks the outbox relay after a resend commits. */
  onCommit: () => void;
  allowPrivateTargets: boolean;
  secretGraceMs: number;
}

export function adminWebhookRoutes(deps: AdminWebhookDeps) {
  const { db, now } = deps;
  const app = createRouter();

  /** Refuses (422, naming `url`) a URL the SSRF policy does not allow. */
  const checkUrl = async (url: string) => {
    const problem = urlProblem(url, deps.allowPrivateTargets) ?? (await resolvedProblem(url, deps.allowPrivateTargets));
    if (problem) throw new UnprocessableError(`The endpoint's URL ${problem}.`, [{ field: 'url', message: problem }]);
  };

  app.openapi(createEndpointRoute, async (c) => {
    const body = c.req.valid('json');
    await checkUrl(body.url);
    const endpoint = await createEndpoint(db, { ...body, secret: newSecret() }, now());
    return c.json({ ...endpointView(endpoint, now()), secret: endpoint.secret }, 201, {
      Location: `/admin${BASE}/${endpoint.id}`,
    });
  });

  app.openapi(listEndpointsRoute, async (c) =>
    c.json({ endpoints: (await listEndpoints(db)).map((e) => endpointView(e, now())) }, 200),
  );

  app.openapi(getEndpointRoute, async (c) => c.json(endpointView(await getEndpoint(db, c.req.valid('param').id), now()), 200));

  app.openapi(updateEndpointRoute, async (c) => {
    const body = c.req.valid('json');
    if (body.url !== undefined) await checkUrl(body.url);
    return c.json(endpointView(await updateEndpoint(db, c.req.valid('param').id, body, now()), now()), 200);
  });

  app.openapi(deleteEndpointRoute, async (c) => {
    await deleteEndpoint(db, c.req.valid('param').id);
    return c.body(null, 204);
  });

  app.openapi(rotateSecretRoute, async (c) => {
    const endpoint = await rotateSecret(db, c.req.valid('param').id, newSecret(), deps.secretGraceMs, now());
    return c.json({ ...endpointView(endpoint, now()), secret: endpoint.secret }, 200);
  });

  app.openapi(deliveriesRoute, async (c) => {
    const { id } = c.req.valid('param');
    const query = c.req.valid('query');
    await getEndpoint(db, id);
    const deliveries = await deliveriesOfEndpoint(db, id, { limit: query.limit ?? 100, status: query.status });
    return c.json({ deliveries: deliveries.map(deliveryView) }, 200);
  });

  app.openapi(resendGivenUpRoute, async (c) => {
    const { id } = c.req.valid('param');
    await getEndpoint(db, id);
    const resent = await resendGivenUp(db, id, now());
    if (resent > 0) deps.onCommit();
    return c.json({ resent }, 200);
  });

  app.openapi(deliveryRoute, async (c) => {
    const { id } = c.req.valid('param');
    const view = await getDeliveryView(db, id);
    return c.json({ ...deliveryView(view), history: (await attemptsOf(db, id)).map(attemptView) }, 200);
  });

  app.openapi(resendDeliveryRoute, async (c) => {
    const { id } = c.req.valid('param');
    await resendDelivery(db, id, now());
    deps.onCommit();
    return c.json(deliveryView(await getDeliveryView(db, id)), 200);
  });

  return app;
}
