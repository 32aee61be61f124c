/**
 * Typed refusals the service can give a caller. The API turns each into a problem document
 * (api/problem.ts); nothing here knows about HTTP beyond the status it maps to.
 */

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `items.0.quantity`. */
  field: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly fields: FieldIssue[] = [],
  ) {
    super(detail);
  }
}

export class ValidationError extends DomainError {
  override readonly name = 'ValidationError';
  constructor(detail: string, fields: FieldIssue[] = [], status = 400) {
    super(status, 'Invalid request', detail, fields);
  }
}

export class UnprocessableError extends DomainError {
  override readonly name = 'UnprocessableError';
  constructor(detail: string, fields: FieldIssue[] = []) {
    super(422, 'Unprocessable request', detail, fields);
  }
}

export class NotFoundError extends DomainError {
  override readonly name = 'NotFoundError';
  constructor(detail: string) {
    super(404, 'Not found', detail);
  }
}

export class ConflictError extends DomainError {
  override readonly name = 'ConflictError';
  constructor(detail: string, fields: FieldIssue[] = []) {
    super(409, 'Conflict', detail, fields);
  }
}

export class UnauthorizedError extends DomainError {
  override readonly name = 'UnauthorizedError';
  constructor(detail: string) {
    super(401, 'Unauthorized', detail);
  }
}
