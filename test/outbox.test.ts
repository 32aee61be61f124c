/**
 * The outbox's bookkeeping for the relay: a process learns of its own rows only once their
 * transaction commits, and dispatch marks touch only rows still waiting.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeTx, type Db } from '../src/db/client.ts';
import { closeDatabase } from '../src/db/open.ts';
import { emit, markDispatched, pendingOutbox, takeCommittedOutbox } from '../src/db/outbox.ts';
import { openTestStore, sqlRows } from './support/store.ts';

let dir: string;
let db: Db;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orders-outbox-'));
  db = await openTestStore(dir);
});

afterEach(async () => {
  await closeDatabase(db);
  rmSync(dir, { recursive: true, force: true });
});

describe('the rows a process committed', () => {
  it('are handed to its relay once, after the commit', async () => {
    await writeTx(db, async (tx) => {
      await emit(tx, 'ord_1', 'OrderPlaced', 1_000);
      await emit(tx, 'ord_1', 'PaymentTimeoutDue', 1_000, 500);
      expect(takeCommittedOutbox(db)).toEqual([]); // not committed yet
    });
    expect(takeCommittedOutbox(db)).toEqual([
      expect.objectContaining({ orderId: 'ord_1', type: 'OrderPlaced', createdAt: 1_000, runAt: 1_000 }),
      expect.objectContaining({ orderId: 'ord_1', type: 'PaymentTimeoutDue', runAt: 1_500 }),
    ]);
    expect(takeCommittedOutbox(db)).toEqual([]);
  });

  it('never include rows of a transaction or savepoint that rolled back', async () => {
    await expect(
      writeTx(db, async (tx) => {
        await emit(tx, 'ord_1', 'OrderPlaced', 1_000);
        throw new Error('abandoned');
      }),
    ).rejects.toThrow('abandoned');
    await writeTx(db, async (tx) => {
      await emit(tx, 'ord_2', 'OrderPlaced', 1_000);
      try {
        await writeTx(tx, async (sp) => {
          await emit(sp, 'ord_3', 'OrderPlaced', 1_000);
          throw new Error('savepoint abandoned');
        });
      } catch {
        // the outer transaction goes on without the savepoint's rows
      }
      await writeTx(tx, (sp) => emit(sp, 'ord_4', 'OrderPlaced', 1_000));
    });
    expect(takeCommittedOutbox(db).map((r) => r.orderId)).toEqual(['ord_2', 'ord_4']);
    expect((await pendingOutbox(db, 10)).map((r) => r.orderId)).toEqual(['ord_2', 'ord_4']);
  });
});

describe('markDispatched', () => {
  it('marks the given rows that still wait, and leaves a mark already made alone', async () => {
    await writeTx(db, async (tx) => {
      for (const id of ['a', 'b', 'c']) await emit(tx, id, 'OrderPlaced', 1_000);
    });
    const [a, b, c] = await pendingOutbox(db, 10);
    await markDispatched(db, [a!.id], 2_000);
    await markDispatched(db, [a!.id, b!.id], 3_000);
    expect((await pendingOutbox(db, 10)).map((r) => r.id)).toEqual([c!.id]);
    const marks = await sqlRows(db, 'SELECT id, dispatched_at AS at FROM outbox ORDER BY id');
    expect(marks).toEqual([
      { id: a!.id, at: 2_000 },
      { id: b!.id, at: 3_000 },
      { id: c!.id, at: null },
    ]);
  });
});
