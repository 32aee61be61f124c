/**
 * Every failed attempt of a job, not only the last: the attempt number, the error and when, so
 * that an order's page shows the transient failures before a success as well as those before a
 * give-up. Bounded: a job keeps its latest FAILED_ATTEMPTS_KEPT attempts, however often it is
 * retried.
 */
import { and, asc, desc, eq, lte } from 'drizzle-orm';
import { writeTx, type Db } from './client.ts';

export const FAILED_ATTEMPTS_KEPT = 20;
/** An error is kept to this many characters. */
const MAX_ERROR = 500;

export interface FailedAttemptRecord {
  orderId: string;
  queue: string;
  jobId: string;
  event: string;
  attempt: number;
  error: string;
  at: number;
}

export async function recordFailedAttempt(db: Db, record: FailedAttemptRecord): Promise<void> {
  await writeTx(
    db,
    async (tx) => {
      const { failedAttempts } = tx.tables;
      await tx.insert(failedAttempts).values({ ...record, error: record.error.slice(0, MAX_ERROR) });
      // The oldest beyond the bound go; the job_id index makes this a short range.
      const [oldestKept] = await tx
        .select({ id: failedAttempts.id })
        .from(failedAttempts)
        .where(eq(failedAttempts.jobId, record.jobId))
        .orderBy(desc(failedAttempts.id))
        .limit(1)
        .offset(FAILED_ATTEMPTS_KEPT);
      if (oldestKept) {
        await tx.delete(failedAttempts).where(and(eq(failedAttempts.jobId, record.jobId), lte(failedAttempts.id, oldestKept.id)));
      }
    },
    { isolation: 'read committed' },
  );
}

/** An order's failed attempts, oldest first. */
export async function failedAttemptsOf(db: Db, orderId: string) {
  const { failedAttempts } = db.tables;
  return db
    .select({
      queue: failedAttempts.queue,
      jobId: failedAttempts.jobId,
      event: failedAttempts.event,
      attempt: failedAttempts.attempt,
      error: failedAttempts.error,
      at: failedAttempts.at,
    })
    .from(failedAttempts)
    .where(eq(failedAttempts.orderId, orderId))
    .orderBy(asc(failedAttempts.id));
}
export type FailedAttemptView = Awaited<ReturnType<typeof failedAttemptsOf>>[number];
