/**
 * Reading request bodies: JSON only, in UTF-8, not compressed, 64 KiB at most; bytes that are not
 * UTF-8, malformed JSON and unsafe text (api/hygiene.ts) are refused with a 400. The checks run
 * before schema validation, so each kind of bad body gets its own status.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { ValidationError } from '../domain/errors.ts';
import { escapeUnsafe } from '../domain/text.ts';
import { refuseUnsafeIssues, unsafeTextIssues } from './hygiene.ts';
import { UnsupportedMediaTypeError } from './refusals.ts';

export const MAX_BODY_BYTES = 64 * 1024;

/**
 * `application/json` or a `+json` type, with well-formed parameters: the same rule as the schema
 * validators that read the body after this check, so that both agree on what JSON is.
 */
const JSON_CONTENT_TYPE = /^application\/([a-z.-]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    // V8's message quotes a few characters of the body: keep them short and visible.
    const reason = escapeUnsafe((error as Error).message).slice(0, 120);
    throw new ValidationError(`The request body is not valid JSON: ${reason}.`, [{ field: '(body)', message: 'malformed JSON' }]);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The body's bytes as text; bytes that are not UTF-8 are refused rather than replaced. */
function decodeUtf8(bytes: ArrayBuffer): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new ValidationError('The request body is not valid UTF-8.', [{ field: '(body)', message: 'must be UTF-8 text' }]);
  }
}

/** Refuses a compressed body, or a charset other than UTF-8, with a 415 naming the header. */
function checkEncoding(c: Context): void {
  const encoding = c.req.header('content-encoding');
  if (encoding !== undefined) {
    throw new UnsupportedMediaTypeError('The request body must not be compressed: send it without Content-Encoding.', {
      field: 'Content-Encoding',
      message: 'must be absent',
    });
  }
  const charset = /;\s*charset\s*=\s*"?([^";]*)"?/i.exec(c.req.header('content-type') ?? '')?.[1];
  if (charset !== undefined && charset.trim().toLowerCase() !== 'utf-8') {
    throw new UnsupportedMediaTypeError('The request body must be UTF-8 (charset=utf-8, or no charset at all).', {
      field: 'Content-Type',
      message: 'charset must be utf-8',
    });
  }
}

/** The body of a JSON request, after the content-type, encoding, size, syntax and text checks. */
async function readJson(c: Context): Promise<unknown> {
  if (!JSON_CONTENT_TYPE.test(c.req.header('content-type') ?? '')) throw new UnsupportedMediaTypeError();
  checkEncoding(c);
  // Hono keeps the bytes, so the route's schema validator reads the same body again for free.
  const text = decodeUtf8(await c.req.arrayBuffer());
  const value = parseJson(text);
  refuseUnsafeIssues(unsafeTextIssues(value), 'request body');
  return value;
}

/**
 * Route middleware for a JSON body: refuses a non-JSON type (415) and malformed JSON (400) before
 * the route's schema sees the body (Hono caches the text, so it is read once).
 */
export const jsonBody: MiddlewareHandler = async (c, next) => {
  await readJson(c);
  await next();
};
