/**
 * The one exit for errors: every refusal leaves as an RFC 9457 problem document
 * (application/problem+json) naming the offending fields and carrying the request id. Errors
 * carry a kind, never a status: this module is the one place that maps a kind to its status, slug
 * and title.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { StorageUnavailableError } from '../db/errors.ts';
import { DomainError, RetryLaterError, type FieldIssue, type RefusalKind } from '../domain/errors.ts';
import { escapeUnsafe } from '../domain/text.ts';
import { RepeatedLog } from '../lib/repeated-log.ts';
import { RequestRefusal, TooManyRequestsError, UnauthorizedError, type RequestRefusalKind } from './refusals.ts';

const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const ProblemSchema = z
  .object({
    type: z
      .string()
      .openapi({ description: 'A URI reference naming the kind of problem.', example: '/problems/invalid-request' }),
    title: z.string().openapi({ example: 'Invalid request' }),
    status: z.int().openapi({ example: 400 }),
    detail: z
      .string()
      .openapi({ example: 'The request body has an invalid field: items.0.quantity: Too big: expected number to be <=1000.' }),
    instance: z.string().optional().openapi({ description: 'The path of the refused request.', example: '/orders' }),
    requestId: z.string().openapi({ description: 'The X-Request-Id of the refused request.' }),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: 'The offending fields, as dotted paths (`items.0.quantity`).' }),
  })
  .openapi('Problem');
export type Problem = z.infer<typeof ProblemSchema>;

/** Every kind of problem the service answers with. */
export type ProblemKind =
  | RefusalKind
  | RequestRefusalKind
  | 'method-not-allowed'
  | 'client-closed-request'
  | 'internal-error'
  | 'unavailable';

/** Each kind's status, the last part of its `type`, and its title. */
const KINDS: Record<ProblemKind, { status: number; slug: string; title: string }> = {
  invalid: { status: 400, slug: 'invalid-request', title: 'Invalid request' },
  unauthorized: { status: 401, slug: 'unauthorized', title: 'Unauthorized' },
  forbidden: { status: 403, slug: 'forbidden', title: 'Forbidden' },
  'not-found': { status: 404, slug: 'not-found', title: 'Not found' },
  'method-not-allowed': { status: 405, slug: 'method-not-allowed', title: 'Method not allowed' },
  conflict: { status: 409, slug: 'conflict', title: 'Conflict' },
  'payload-too-large': { status: 413, slug: 'payload-too-large', title: 'Payload too large' },
  'unsupported-media-type': { status: 415, slug: 'unsupported-media-type', title: 'Unsupported media type' },
  unprocessable: { status: 422, slug: 'unprocessable-request', title: 'Unprocessable request' },
  'too-many-requests': { status: 429, slug: 'too-many-requests', title: 'Too many requests' },
  // Not sent to anyone (the client has gone); recorded in the access log and the metrics.
  'client-closed-request': { status: 499, slug: 'client-closed-request', title: 'Client closed request' },
  'internal-error': { status: 500, slug: 'internal-error', title: 'Internal error' },
  unavailable: { status: 503, slug: 'unavailable', title: 'Unavailable' },
};

/** The kind of an HTTP status raised below the routes (Hono's own refusals), if it has one. */
function kindOfStatus(status: number): ProblemKind | undefined {
  return (Object.keys(KINDS) as ProblemKind[]).find((kind) => KINDS[kind].status === status);
}

const DESCRIPTIONS = {
  400: 'Malformed JSON, a body that is not UTF-8, a wrong type, a value out of bounds, an unknown field, or text with control or bidirectional-override characters.',
  401: 'The credentials (the API key, or the admin token on admin routes) are missing or wrong.',
  403: 'A state-changing admin request sent from another site.',
  404: 'No such resource.',
  409: 'The request conflicts with the state of the resource.',
  413: 'The body is larger than 64 KiB.',
  415: 'The body is not JSON, not UTF-8, or compressed (Content-Encoding).',
  422: 'Well-formed, but not acceptable: an unknown SKU, or an Idempotency-Key reused with another body.',
  429: 'Too many requests from this API key or client address; Retry-After says when to try again.',
} as const;

/** One example problem document per status, as the service writes it, for the OpenAPI document. */
const EXAMPLE_DETAILS: Record<
  keyof typeof DESCRIPTIONS,
  { kind: ProblemKind; detail: string; instance: string; errors?: FieldIssue[] }
> = {
  400: {
    kind: 'invalid',
    detail: 'The request body has an invalid field: items.0.quantity: Too big: expected number to be <=1000.',
    instance: '/orders',
    errors: [{ field: 'items.0.quantity', message: 'Too big: expected number to be <=1000' }],
  },
  401: { kind: 'unauthorized', detail: 'This route needs an API key: Authorization: Bearer <API key>.', instance: '/orders' },
  403: {
    kind: 'forbidden',
    detail: 'A state-changing admin request is refused: its Origin is another site.',
    instance: '/admin/products/MUG-001',
    errors: [{ field: 'Origin', message: 'must be this service’s own origin' }],
  },
  404: {
    kind: 'not-found',
    detail: 'No order has the id "ord_01M8EST9RFESSH3CG4Q38NXJVS".',
    instance: '/orders/ord_01M8EST9RFESSH3CG4Q38NXJVS',
  },
  409: {
    kind: 'conflict',
    detail: 'The order is SHIPPED; it can no longer be cancelled.',
    instance: '/orders/ord_01M8EST9RFESSH3CG4Q38NXJVS/cancel',
  },
  413: { kind: 'payload-too-large', detail: 'The request body is larger than 65536 bytes.', instance: '/orders' },
  415: {
    kind: 'unsupported-media-type',
    detail: 'The request body must be JSON (Content-Type: application/json).',
    instance: '/orders',
    errors: [{ field: 'Content-Type', message: 'must be application/json' }],
  },
  422: {
    kind: 'unprocessable',
    detail: 'This Idempotency-Key was already used with a different request body.',
    instance: '/orders',
  },
  429: { kind: 'too-many-requests', detail: 'Too many requests with this API key.', instance: '/orders' },
};

function exampleProblem(status: keyof typeof DESCRIPTIONS): Problem {
  const { kind, detail, instance, errors } = EXAMPLE_DETAILS[status];
  const { slug, title } = KINDS[kind];
  return {
    type: `/problems/${slug}`,
    title,
    status,
    detail,
    instance,
    requestId: '6f1c2a7e-0b7d-4c1e-9d2a-3c4b5a6d7e8f',
    ...(errors ? { errors } : {}),
  };
}

/** Bounds on what a refusal repeats of a request, however much it was sent. */
const MAX_DETAIL = 1_000;
const MAX_ERRORS = 50;
const MAX_ERROR_TEXT = 200;
const MAX_INSTANCE = 100;
const MAX_FIELD = 100;

const bounded = (text: string, max: number) => escapeUnsafe(text.length > max ? `${text.slice(0, max)}…` : text);

export interface ProblemOptions {
  errors?: FieldIssue[];
  headers?: Record<string, string>;
}

/** The problem document of `kind`, about the request in `c`. */
export function problemResponse(c: Context, kind: ProblemKind, detail: string, options: ProblemOptions = {}): Response {
  const { status, slug, title } = KINDS[kind];
  const body: Problem = {
    type: `/problems/${slug}`,
    title,
    status,
    detail: bounded(detail, MAX_DETAIL),
    instance: bounded(c.req.path, MAX_INSTANCE),
    requestId: (c.get('requestId') as string | undefined) ?? '',
    ...(options.errors && options.errors.length > 0
      ? {
          errors: options.errors
            .slice(0, MAX_ERRORS)
            .map((e) => ({ field: bounded(e.field, MAX_FIELD), message: bounded(e.message, MAX_ERROR_TEXT) })),
        }
      : {}),
  };
  return c.body(JSON.stringify(body), status as ContentfulStatusCode, {
    'Content-Type': PROBLEM_CONTENT_TYPE,
    ...options.headers,
  });
}

/** OpenAPI response entries for the refusals a route can give. */
export function problemResponses<S extends keyof typeof DESCRIPTIONS>(...statuses: S[]) {
  const entries = statuses.map((status) => [
    status,
    {
      description: DESCRIPTIONS[status] as string,
      content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema, example: exampleProblem(status) } },
    },
  ]);
  return Object.fromEntries(entries) as Record<
    S,
    { description: string; content: { 'application/problem+json': { schema: typeof ProblemSchema; example: Problem } } }
  >;
}

/** Retry-After, in whole seconds (at least one), for a wait of `ms`. */
const retryAfterSeconds = (ms: number) => String(Math.max(1, Math.ceil(ms / 1000)));

export function errorHandler(fallbackLogger: Logger) {
  const outages = new RepeatedLog(fallbackLogger);
  return (error: Error, c: Context): Response => {
    if (c.req.raw.signal.aborted) {
      // The client went away mid-request (an abort, a dropped connection): not our failure.
      return problemResponse(c, 'client-closed-request', 'The client closed the request before it was answered.');
    }
    if (error instanceof RetryLaterError) {
      // Nothing was written, and the same request, sent again after Retry-After, will most likely
      // pass: the database cannot write for now, or concurrent writes beat this one at every try.
      const headers = { 'Retry-After': retryAfterSeconds(error.retryAfterMs) };
      if (error instanceof StorageUnavailableError) {
        outages.report(error.code, 'error', { err: error, code: error.code }, 'the database cannot take writes; answering 503');
        return problemResponse(c, 'unavailable', 'The service cannot store anything right now; try again shortly.', { headers });
      }
      outages.report('contention', 'warn', { err: error }, 'database work lost to concurrent sessions; answering 503');
      return problemResponse(c, 'unavailable', 'The service is busy with concurrent changes; try again shortly.', { headers });
    }
    if (error instanceof DomainError || error instanceof RequestRefusal) {
      const headers: Record<string, string> = {};
      // A 401 names the challenge of the route that refused, never a default realm.
      if (error instanceof UnauthorizedError) headers['WWW-Authenticate'] = error.challenge;
      if (error instanceof TooManyRequestsError) headers['Retry-After'] = String(error.retryAfterSeconds);
      // The body is left unread and the server closes the connection after this answer: say so,
      // or a pooled client sends its next request on a socket about to close.
      if (error.kind === 'payload-too-large') headers.Connection = 'close';
      return problemResponse(c, error.kind, error.message, { errors: error.fields, headers });
    }
    const hono = error instanceof HTTPException && error.status < 500 ? kindOfStatus(error.status) : undefined;
    if (hono) return problemResponse(c, hono, error.message || KINDS[hono].title);
    const logger = (c.get('logger') as Logger | undefined) ?? fallbackLogger;
    logger.error({ err: error, path: c.req.path, method: c.req.method }, 'unhandled error');
    return problemResponse(c, 'internal-error', 'Something went wrong on our side; it has been logged.');
  };
}
