/**
 * What every route module shares: the request context's variables (request id, a logger that
 * carries it) and a router whose schema validation fails into the one problem exit.
 */
import { OpenAPIHono, type Hook } from '@hono/zod-openapi';
import type { Logger } from 'pino';
import { ValidationError } from '../domain/errors.ts';
import { fieldIssues } from '../domain/field-issues.ts';

export interface AppEnv {
  Variables: {
    requestId: string;
    /** The app's logger with this request's id on every line. */
    logger: Logger;
    /** On the client routes: the id of the API key the request came with (api/api-keys.ts). */
    apiKeyId: string;
  };
}

/** What a failed check was looking at, for the problem's detail and field names. */
const TARGETS: Record<string, { what: string; field: (name: string) => string }> = {
  json: { what: 'request body', field: (name) => name },
  query: { what: 'query string', field: (name) => name },
  param: { what: 'path', field: (name) => name },
  // Header names arrive lower-cased; show them the way the documentation writes them.
  header: { what: 'request headers', field: (name) => name.replace(/(^|-)([a-z])/g, (_, dash, ch) => dash + ch.toUpperCase()) },
};

// Every route's validators report through here: a refusal is thrown, so it leaves by onError.
const refuseInvalid: Hook<unknown, AppEnv, string, undefined> = (result) => {
  if (result.success) return;
  const target = TARGETS[result.target] ?? { what: result.target, field: (name: string) => name };
  const errors = fieldIssues(result.error).map((issue) => ({ ...issue, field: target.field(issue.field) }));
  throw new ValidationError(
    `The ${target.what} ${errors.length === 1 ? 'has an invalid field' : 'has invalid fields'}: ${errors
      .map((e) => `${e.field}: ${e.message}`)
      .join('; ')}.`,
    errors,
  );
};

export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: refuseInvalid });
}
