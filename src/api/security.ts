/**
 * The one place where the API's security schemes are declared: each scheme's name, as routes
 * refer to it in their `security`, and its OpenAPI definition. createApp registers them all, so
 * that /openapi.json declares every scheme a route can name.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './router.ts';

export const SECURITY_SCHEMES = {
  apiKey: {
    type: 'http',
    scheme: 'bearer',
    description: 'One of API_KEYS as a bearer token (not the admin token): `Authorization: Bearer <key>`.',
  },
  adminToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'ADMIN_TOKEN as a bearer token: `Authorization: Bearer <ADMIN_TOKEN>`.',
  },
  adminBasic: {
    type: 'http',
    scheme: 'basic',
    description: 'Any user name, with ADMIN_TOKEN as the password (for browsers).',
  },
} as const;

export type SecuritySchemeName = keyof typeof SECURITY_SCHEMES;

/** What a client route (`/orders…`) asks for: an API key. */
export const API_KEY_SECURITY: Partial<Record<SecuritySchemeName, string[]>>[] = [{ apiKey: [] }];

/** What an admin route asks for: the admin token, as a bearer token or as a Basic password. */
export const ADMIN_SECURITY: Partial<Record<SecuritySchemeName, string[]>>[] = [{ adminToken: [] }, { adminBasic: [] }];

export function registerSecuritySchemes(app: OpenAPIHono<AppEnv>): void {
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) {
    app.openAPIRegistry.registerComponent('securitySchemes', name, { ...scheme });
  }
}
