/**
 * Reading request bodies: JSON only, 64 KiB at most, malformed JSON refused with a 400. The checks
 * run before schema validation, so each kind of bad body gets its own status.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { DomainError, ValidationError } from '../domain/errors.ts';

export const MAX_BODY_BYTES = 64 * 1024;

/**
 * `application/json` or a `+json` type, with well-formed parameters: the same rule as the schema
 * validators that read the body after this check, so that both agree on what JSON is.
 */
const JSON_CONTENT_TYPE = /^application\/([a-z.-]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

export class PayloadTooLargeError extends DomainError {
  override readonly name = 'PayloadTooLargeError';
  constructor() {
    super(413, 'Payload too large', `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
  }
}

export class UnsupportedMediaTypeError extends DomainError {
  override readonly name = 'UnsupportedMediaTypeError';
  constructor() {
    super(415, 'Unsupported media type', 'The request body must be JSON (Content-Type: application/json).', [
      { field: 'Content-Type', message: 'must be application/json' },
    ]);
  }
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`The request body is not valid JSON: ${(error as Error).message}.`, [
      { field: '(body)', message: 'malformed JSON' },
    ]);
  }
}

/** The body of a JSON request, after the content-type, size and syntax checks. */
export async function readJson(c: Context): Promise<unknown> {
  if (!JSON_CONTENT_TYPE.test(c.req.header('content-type') ?? '')) throw new UnsupportedMediaTypeError();
  // Hono keeps the text, so the route's schema validator reads the same body again for free.
  return parseJson(await c.req.text());
}

/**
 * Route middleware for a JSON body: refuses a non-JSON type (415) and malformed JSON (400) before
 * the route's schema sees the body (Hono caches the text, so it is read once).
 */
export const jsonBody: MiddlewareHandler = async (c, next) => {
  await readJson(c);
  await next();
};
