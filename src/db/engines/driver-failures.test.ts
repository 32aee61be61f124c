/**
 * Which driver failures become which of the store's typed errors: a storage that failed or cannot
 * be reached is StorageUnavailableError, work that lost to concurrent sessions is ContentionError,
 * and everything else (a bug in a statement, a constraint, a business outcome) stays as it was.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { describe, expect, it } from 'vitest';
import { RetryLaterError, TransientError } from '../../domain/errors.ts';
import { ContentionError, StorageUnavailableError } from '../errors.ts';
import { postgresFailure, raiseTypedErrors, sqliteFailure, typedStoreError } from './driver-failures.ts';

/** A driver's error as drizzle hands it on: its own error, the driver's as the cause. */
function fromDriver(code: string | undefined, message = 'driver says no'): Error {
  const driver = Object.assign(new Error(message), code === undefined ? {} : { code });
  return new Error('Failed query: insert into "orders" …', { cause: driver });
}

describe('SQLite failures', () => {
  it.each([
    ['a full disk', 'SQLITE_FULL'],
    ['an I/O error, by its extended code', 'SQLITE_IOERR_WRITE'],
    ['a read-only file', 'SQLITE_READONLY'],
    ['a moved or deleted file', 'SQLITE_READONLY_DBMOVED'],
    ['a file that cannot be opened', 'SQLITE_CANTOPEN'],
    ['the write lock held elsewhere past the wait', 'SQLITE_BUSY'],
    ['a table locked', 'SQLITE_LOCKED'],
    ['no memory', 'SQLITE_NOMEM'],
    ['a corrupt file', 'SQLITE_CORRUPT'],
    ['a file that is not a database', 'SQLITE_NOTADB'],
    ['a locking protocol error', 'SQLITE_PROTOCOL'],
  ])('%s is StorageUnavailableError', (_what, code) => {
    const driverError = fromDriver(code);
    const typed = typedStoreError(driverError, sqliteFailure);
    expect(typed).toBeInstanceOf(StorageUnavailableError);
    expect(typed).toMatchObject({ code, cause: driverError, retryAfterMs: 2_000 });
    expect((typed as Error).message).toContain('driver says no');
  });

  it.each([
    ['a constraint', 'SQLITE_CONSTRAINT_UNIQUE'],
    ['a statement in error', 'SQLITE_ERROR'],
    ['a network code, which is not the database’s on SQLite', 'ECONNREFUSED'],
    ['an error without a code', undefined],
  ])('%s stays as it was', (_what, code) => {
    const error = fromDriver(code);
    expect(typedStoreError(error, sqliteFailure)).toBe(error);
  });
});

describe('PostgreSQL failures', () => {
  it.each([
    ['a connection failure', '08006'],
    ['a server shutting down', '57P01'],
    ['a crash shutdown', '57P02'],
    ['a server starting', '57P03'],
    ['a full disk', '53100'],
    ['too many connections', '53300'],
    ['an I/O error', '58030'],
    ['a read-only server', '25006'],
    ['a refused connection', 'ECONNREFUSED'],
    ['a reset connection', 'ECONNRESET'],
    ['a host that cannot be reached', 'EHOSTUNREACH'],
    ['a host name that does not resolve', 'ENOTFOUND'],
  ])('%s is StorageUnavailableError', (_what, code) => {
    const typed = typedStoreError(fromDriver(code), postgresFailure);
    expect(typed).toBeInstanceOf(StorageUnavailableError);
    expect(typed).toMatchObject({ code, retryAfterMs: 2_000 });
  });

  it.each([
    'Connection terminated unexpectedly',
    'timeout exceeded when trying to connect',
    'Client has encountered a connection error and is not queryable',
    'Query read timeout',
  ])('node-postgres’s "%s" (no code) is StorageUnavailableError', (message) => {
    const typed = typedStoreError(fromDriver(undefined, message), postgresFailure);
    expect(typed).toBeInstanceOf(StorageUnavailableError);
    expect(typed).toMatchObject({ code: 'CONNECTION_LOST' });
  });

  it.each([
    ['a statement ended by statement_timeout', '57014'],
    ['a lock not taken within lock_timeout', '55P03'],
    ['a serialization failure', '40001'],
    ['a deadlock', '40P01'],
  ])('%s is ContentionError', (_what, code) => {
    const driverError = fromDriver(code);
    const typed = typedStoreError(driverError, postgresFailure);
    expect(typed).toBeInstanceOf(ContentionError);
    expect(typed).toMatchObject({ code, cause: driverError, retryAfterMs: 500 });
  });

  it('tells the runner which failures run the transaction again', () => {
    for (const code of ['40001', '40P01', '23505']) expect(postgresFailure(fromDriver(code))).toEqual({ kind: 'conflict', code });
    expect(postgresFailure(fromDriver('55P03'))).toEqual({ kind: 'lock-wait', code: '55P03' });
    expect(postgresFailure(fromDriver('57P01'))).toEqual({ kind: 'unavailable', code: '57P01' });
  });

  it.each([
    ['a unique violation, which only a retry inside a transaction can tell from a bug', '23505'],
    ['a foreign key violation', '23503'],
    ['a syntax error', '42601'],
    ['an error without a code', undefined],
  ])('%s stays as it was', (_what, code) => {
    const error = fromDriver(code);
    expect(typedStoreError(error, postgresFailure)).toBe(error);
  });
});

describe('the typed errors', () => {
  it('are transient failures that say when to come back', () => {
    for (const error of [new StorageUnavailableError('SQLITE_FULL', new Error('full')), new ContentionError('40001', null)]) {
      expect(error).toBeInstanceOf(RetryLaterError);
      expect(error).toBeInstanceOf(TransientError);
      expect(error.retryAfterMs).toBeGreaterThan(0);
    }
  });

  it('are not typed twice', () => {
    const typed = new ContentionError('40001', fromDriver('40001'));
    expect(typedStoreError(typed, postgresFailure)).toBe(typed);
    const unavailable = new StorageUnavailableError('SQLITE_FULL', fromDriver('SQLITE_FULL'));
    expect(typedStoreError(unavailable, sqliteFailure)).toBe(unavailable);
  });
});

describe('a handle that raises typed errors', () => {
  it('fails a read of a file that is not a database as StorageUnavailableError, and passes other errors on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orders-driver-failures-'));
    const path = join(dir, 'orders.db');
    writeFileSync(path, 'not a database, only text '.repeat(200));
    const client = new Database(path);
    try {
      const db = drizzle(client);
      raiseTypedErrors(db, sqliteFailure);
      let thrown: unknown;
      try {
        db.all(sql`SELECT count(*) FROM sqlite_master`);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(StorageUnavailableError);
      expect(thrown).toMatchObject({ code: 'SQLITE_NOTADB', message: expect.stringContaining('not a database') });
    } finally {
      client.close();
      rmSync(dir, { recursive: true, force: true });
    }

    const memory = new Database(':memory:');
    try {
      const db = drizzle(memory);
      raiseTypedErrors(db, sqliteFailure);
      expect(db.all(sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
      // A statement in error is the caller's, not the storage's.
      expect(() => db.all(sql`SELECT * FROM no_such_table`)).toThrow(/no such table/);
      expect(() => db.all(sql`SELECT * FROM no_such_table`)).not.toThrow(StorageUnavailableError);
    } finally {
      memory.close();
    }
  });
});
