/**
 * The one exit for errors: every refusal leaves as an RFC 9457 problem document
 * (application/problem+json) naming the offending fields.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { z } from 'zod';
import { DomainError, ValidationError, type FieldIssue } from '../domain/errors.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldIssue[];
}

const SLUGS: Record<number, string> = {
  400: 'invalid-request',
  401: 'unauthorized',
  404: 'not-found',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  422: 'unprocessable-request',
  500: 'internal-error',
  503: 'unavailable',
};

const TITLES: Record<number, string> = {
  400: 'Invalid request',
  401: 'Unauthorized',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  500: 'Internal error',
};

export function problemResponse(c: Context, problem: Problem, headers: Record<string, string> = {}): Response {
  return c.body(JSON.stringify(problem), problem.status as ContentfulStatusCode, {
    'Content-Type': 'application/problem+json',
    ...headers,
  });
}

export function problem(status: number, detail: string, path: string, errors?: FieldIssue[], title?: string): Problem {
  return {
    type: `/problems/${SLUGS[status] ?? 'error'}`,
    title: title ?? TITLES[status] ?? 'Error',
    status,
    detail,
    instance: path,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

/** Turns zod's issues into field issues with dotted paths (`items.0.quantity`). */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: base ? `${base}.${key}` : key, message: 'unknown field' }));
    }
    return [{ field: base || '(body)', message: issue.message }];
  });
}

/** Parses `value` with `schema`, or throws a 400 naming every bad field. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, what = 'request body'): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const errors = fieldIssues(parsed.error);
    throw new ValidationError(
      `The ${what} is invalid: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}.`,
      errors,
    );
  }
  return parsed.data;
}

export function errorHandler(logger: Logger) {
  return (error: Error, c: Context): Response => {
    if (error instanceof DomainError) {
      const headers: Record<string, string> =
        error.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="orders-admin"' } : {};
      return problemResponse(c, problem(error.status, error.message, c.req.path, error.fields, error.title), headers);
    }
    if (error instanceof HTTPException) {
      return problemResponse(c, problem(error.status, error.message || TITLES[error.status] || 'Error', c.req.path));
    }
    logger.error({ err: error, path: c.req.path, method: c.req.method }, 'unhandled error');
    return problemResponse(c, problem(500, 'Something went wrong on our side; it has been logged.', c.req.path));
  };
}
