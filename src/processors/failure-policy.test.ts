/**
 * A job's error decides by its type what the job does: the store's outages and lost races wait
 * as long as they say without spending an attempt, transient failures retry with backoff, broken
 * invariants and unrecoverable jobs fail at once, and errors of no known kind retry (bounded by
 * the attempts) until someone gives them a kind. (Which driver errors become which of the store's
 * types: src/db/engines/driver-failures.test.ts.)
 */
import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { ContentionError, StorageUnavailableError } from '../db/errors.ts';
import { InvariantViolation, RetryLaterError, TransientError } from '../domain/errors.ts';
import { TransientGatewayError } from '../domain/ports.ts';
import { TransientMailError } from '../email/smtp-mailer.ts';
import { ForeignOrderError } from './workers.ts';
import { GivenUp, asThrown, delayFor, failureKind } from './failure-policy.ts';
import { ProviderTimeoutError } from './provider-timeouts.ts';

describe('the failure policy of jobs', () => {
  it.each([
    ['a gateway error worth retrying', new TransientGatewayError('gateway down')],
    ['a provider call past its deadline', new ProviderTimeoutError('carrier did not answer')],
    ['a mail server that cannot take the message now', new TransientMailError('421 try later')],
    ['any transient error', new TransientError('blip')],
  ])('retries %s', (_what, error) => {
    expect(failureKind(error)).toBe('transient');
    expect(asThrown(error)).toBe(error);
  });

  const driverError = (code: string) => new Error('Failed query: update', { cause: Object.assign(new Error('no'), { code }) });

  it.each([
    ['a database that cannot write', new StorageUnavailableError('SQLITE_FULL', driverError('SQLITE_FULL'))],
    ['a PostgreSQL server that is away', new StorageUnavailableError('57P01', driverError('57P01'))],
    ['a PostgreSQL transaction that kept losing to concurrent ones', new ContentionError('40001', driverError('40001'))],
    ['a lock PostgreSQL could not take within lock_timeout', new ContentionError('55P03', driverError('55P03'))],
  ])('delays %s without spending an attempt, about as long as it says', (_what, error) => {
    expect(failureKind(error)).toBe('delay');
    expect(asThrown(error)).toBe(error);
    // Spread around what the error says, so that the jobs an outage held back do not return at once.
    expect(delayFor(error, 0)).toBe(error.retryAfterMs / 2);
    expect(delayFor(error, 0.999)).toBeLessThanOrEqual(error.retryAfterMs * 1.5);
    expect(delayFor(error, 0.999)).toBeGreaterThan(error.retryAfterMs);
  });

  it('delays any error that says when to come back', () => {
    expect(failureKind(new RetryLaterError('later', 1_000))).toBe('delay');
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
    // A driver's error the engine did not type (here one that only names a code) is no outage.
    const error = driverError('SQLITE_BUSY');
    expect(failureKind(error)).toBe('unknown');
    expect(asThrown(error)).toBe(error);
    expect(failureKind('not even an Error')).toBe('unknown');
  });
});
