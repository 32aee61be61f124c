/**
 * Every refusal that belongs to HTTP itself rather than to the domain (domain/errors.ts has
 * those): credentials, a browser's origin, a body's size and type, a rate limit. Each is the
 * client's to fix or to wait out, never retried by the service. Like a domain refusal they carry
 * a kind, never a status: api/problem.ts maps every kind to its status, slug and title.
 */
import type { FieldIssue } from '../domain/errors.ts';

export type RequestRefusalKind =
  | 'unauthorized'
  | 'forbidden'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'too-many-requests';

export class RequestRefusal extends Error {
  constructor(
    readonly kind: RequestRefusalKind,
    detail: string,
    readonly fields: FieldIssue[] = [],
  ) {
    super(detail);
  }
}

/**
 * Missing or wrong credentials. `challenge` is the WWW-Authenticate challenge of the route that
 * refuses (the client API's Bearer realm, the admin's Basic or Bearer one, the carrier webhook's
 * signature), so that a 401 never names a realm it does not answer for.
 */
export class UnauthorizedError extends RequestRefusal {
  override readonly name: string = 'UnauthorizedError';
  constructor(
    detail: string,
    readonly challenge: string,
  ) {
    super('unauthorized', detail);
  }
}

/** A state-changing admin request that a browser sent from another site (api/cross-site.ts). */
export class CrossSiteRequestError extends RequestRefusal {
  override readonly name = 'CrossSiteRequestError';
  constructor(detail: string) {
    super('forbidden', detail, [{ field: 'Origin', message: 'must be this service’s own origin' }]);
  }
}

/** A body larger than the service reads (api/body.ts MAX_BODY_BYTES). */
export class PayloadTooLargeError extends RequestRefusal {
  override readonly name = 'PayloadTooLargeError';
  constructor(maxBytes: number) {
    super('payload-too-large', `The request body is larger than ${maxBytes} bytes.`);
  }
}

/** A body that is not JSON, not UTF-8, or compressed; `field` names the header at fault. */
export class UnsupportedMediaTypeError extends RequestRefusal {
  override readonly name = 'UnsupportedMediaTypeError';
  constructor(
    detail = 'The request body must be JSON (Content-Type: application/json).',
    field: FieldIssue = { field: 'Content-Type', message: 'must be application/json' },
  ) {
    super('unsupported-media-type', detail, [field]);
  }
}

/** Over a rate limit (api/rate-limits.ts): the client waits `retryAfterSeconds` (Retry-After). */
export class TooManyRequestsError extends RequestRefusal {
  override readonly name = 'TooManyRequestsError';
  constructor(
    detail: string,
    readonly retryAfterSeconds: number,
  ) {
    super('too-many-requests', detail);
  }
}
