/**
 * Refusals that belong to HTTP itself rather than to the domain: credentials, a browser's origin,
 * a body's size and type, a rate limit. Like a domain refusal they carry a kind, never a status:
 * api/problem.ts maps every kind to its status, slug and title.
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
