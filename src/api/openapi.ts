/**
 * What /openapi.json says about the API as a whole: its description, the server it is served
 * from, and the tags that group its operations. The operations come from the routes themselves,
 * the security schemes from api/security.ts.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './router.ts';
import { registerSecuritySchemes } from './security.ts';

export const OPENAPI_PATH = '/openapi.json';

export function serveOpenApi(app: OpenAPIHono<AppEnv>, notes: { queuesBoardPath: string; docsPath: string }): void {
  registerSecuritySchemes(app);
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: {
      title: 'Order service',
      version: '1',
      description:
        'Takes e-commerce orders and carries each one through payment, inventory, shipping and notification. ' +
        'Every refusal is an RFC 9457 `application/problem+json` document naming the offending fields; ' +
        'a known path asked with a method it does not answer gets 405 with an `Allow` header. ' +
        'The client routes (`/orders`) need an API key as a bearer token; admin routes need the admin token, and ' +
        'refuse state-changing requests sent by a browser from another site. ' +
        `The operations console is at \`/admin\` and the queues dashboard (Bull Board) at \`${notes.queuesBoardPath}\`, ` +
        'both behind the admin token; ' +
        `this reference is rendered at \`${notes.docsPath}\`.`,
      contact: { name: 'The operators of this deployment' },
    },
    servers: [{ url: '/', description: 'The service that serves this document.' }],
    tags: [
      { name: 'Orders', description: 'Placing, reading and cancelling orders.' },
      {
        name: 'Refunds',
        description: 'Paying back part of an order’s captured payment, never more than was captured.',
      },
      { name: 'Returns', description: 'Taking goods back: opening, following and cancelling returns.' },
      { name: 'Webhooks', description: 'Signed calls from the outside world.' },
      { name: 'Admin', description: 'The catalog, the orders, their refunds and returns, behind ADMIN_TOKEN.' },
      {
        name: 'Webhook endpoints',
        description:
          'Integrators’ endpoints that receive order events, signed per the Standard Webhooks specification and retried for about three days; behind ADMIN_TOKEN.',
      },
      { name: 'Sandbox', description: 'The simulated outside world’s own records, behind ADMIN_TOKEN.' },
      { name: 'Operations', description: 'Health, readiness and metrics.' },
    ],
  });
}
