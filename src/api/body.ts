/**
 * Reading request bodies: JSON only, 64 KiB at most, malformed JSON refused with a 400.
 */
import type { Context } from 'hono';
import { DomainError, ValidationError } from '../domain/errors.ts';

export const MAX_BODY_BYTES = 64 * 1024;

export class PayloadTooLargeError extends DomainError {
  override readonly name = 'PayloadTooLargeError';
  constructor() {
    super(413, 'Payload too large', `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
  }
}

export class UnsupportedMediaTypeError extends DomainError {
  override readonly name = 'UnsupportedMediaTypeError';
  constructor() {
    super(415, 'Unsupported media type', 'The request body must be JSON (Content-Type: application/json).');
  }
}

/** The raw body as text; the size limit is enforced for every route in server.ts. */
export async function readText(c: Context): Promise<string> {
  return c.req.text();
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
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/([a-z.+-]*\+)?json\s*(;|$)/i.test(type)) throw new UnsupportedMediaTypeError();
  return parseJson(await readText(c));
}
