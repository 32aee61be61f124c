/**
 * A job's error decides by its kind whether the job retries: transient failures retry with
 * backoff, broken invariants and unrecoverable jobs fail at once, and errors of no known kind
 * retry (bounded by the attempts) until someone gives them a kind.
 */
import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { InvariantViolation, TransientError } from '../src/domain/errors.ts';
import { TransientGatewayError } from '../src/domain/ports.ts';
import { TransientMailError } from '../src/email/smtp-mailer.ts';
import { ForeignOrderError } from '../src/processors/workers.ts';
import { GivenUp, asThrown, failureKind } from '../src/processors/failure-policy.ts';
import { ProviderTimeoutError } from '../src/processors/provider-timeouts.ts';

describe('the failure policy of jobs', () => {
  it.each([
    ['a gateway error worth retrying', new TransientGatewayError('gateway down')],
    ['a provider call past its deadline', new ProviderTimeoutError('carrier did not answer')],
    ['a mail server that cannot take the message now', new TransientMailError('421 try later')],
    ['any transient error', new TransientError('blip')],
    [
      'a PostgreSQL transaction that kept losing to concurrent ones',
      new Error('Failed query: commit', { cause: Object.assign(new Error('could not serialize access'), { code: '40001' }) }),
    ],
    [
      'a statement PostgreSQL ended for its statement_timeout',
      new Error('Failed query: update', {
        cause: Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
      }),
    ],
    [
      'a lock PostgreSQL could not take within lock_timeout',
      new Error('Failed query: update', {
        cause: Object.assign(new Error('canceling statement due to lock timeout'), { code: '55P03' }),
      }),
    ],
  ])('retries %s', (_what, error) => {
    expect(failureKind(error)).toBe('transient');
    expect(asThrown(error)).toBe(error);
  });

  it.each([
    ['a broken invariant', new InvariantViolation('order o1: the gateway voided a charge still in use')],
    ['a job BullMQ is told not to retry', new UnrecoverableError('malformed job data')],
    ['a job for an order of another deployment', new ForeignOrderError('not in this database')],
  ])('fails %s at once', (_what, error) => {
    expect(failureKind(error)).toBe('permanent');
    expect(asThrown(error)).toBeInstanceOf(UnrecoverableError);
  });

  it('hands BullMQ a broken invariant as unrecoverable, keeping its name and message', () => {
    const error = new InvariantViolation('order o1: refund pending without a charge');
    const thrown = asThrown(error) as GivenUp;
    expect(thrown).toBeInstanceOf(GivenUp);
    expect(thrown.original).toBe(error);
    expect([thrown.name, thrown.message]).toEqual(['InvariantViolation', error.message]);
  });

  it('retries an error of no known kind, as it may pass', () => {
    const error = new Error('SQLITE_BUSY: database is locked');
    expect(failureKind(error)).toBe('unknown');
    expect(asThrown(error)).toBe(error);
    expect(failureKind('not even an Error')).toBe('unknown');
  });
});
