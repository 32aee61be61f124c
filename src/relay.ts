/**
 * The outbox relay: moves committed outbox rows into the queues that subscribe to them, then marks
 * them dispatched.
 *
 * - Kicked after each commit in this process, it dispatches the rows this process wrote
 *   (db/outbox.ts remembers them per connection once their transaction commits), so that the
 *   relays of an API and two workers do not all race for every row.
 * - Every `sweepMs` it also dispatches any row still waiting after `sweepMs`: left behind by a
 *   process that died between its commit and its enqueue, or written while Redis was away. On
 *   PostgreSQL the sweep takes its rows FOR UPDATE SKIP LOCKED, enqueues them and marks them in
 *   that one transaction, so that the relays of several hosts never sweep the same rows.
 * - Dispatch marks are written in batches, one short transaction for many rows, a few
 *   milliseconds after the enqueue. A row enqueued twice (a crash before its mark, two relays)
 *   is dropped by its job id, and every processor checks the order's state anyway.
 * - A row the reconciler wrote (a re-drive) must reach a worker even though a job with its id may
 *   still be kept, completed or failed: BullMQ drops an add whose id it still holds, so that old
 *   job is removed first.
 * - Failures (Redis away, a database that cannot write) are logged with backoff, not per pass;
 *   a Redis out of memory is named as such. Once the relay has failed for `failingAfterMs`, it
 *   says so once at error level, and `health()` reports it (/readyz): orders are not moving.
 */
import type { Logger } from 'pino';
import type { JobsOptions } from 'bullmq';
import { writeTx, type Db } from './db/client.ts';
import { StorageUnavailableError } from './db/errors.ts';
import { RepeatedLog } from './lib/repeated-log.ts';
import { markDispatched, pendingOutbox, takeCommittedOutbox } from './db/outbox.ts';
import type { OutboxRow } from './db/outbox-row.ts';
import type { JobPayload } from './domain/events.ts';
import { JobSends } from './telemetry/messaging.ts';
import { detached, tracingEnabled } from './telemetry/tracing.ts';
import type { Queues } from './queues/queues.ts';
import { ROUTES, jobIdFor, type QueueName } from './queues/routing.ts';
import { isOutOfMemory } from './queues/connection.ts';

export interface RelayOptions {
  sweepMs: number;
  batchSize?: number;
  /**
   * How long dispatch marks gather before they are written in one transaction.
   * Each batch is a transaction; a longer wait makes fewer, bigger ones. It must stay well under
   * `sweepMs`, past which another pass would take an unmarked row for one left behind.
   */
  markDelayMs?: number;
  /** How long the relay may keep failing before it counts as stalled (health, one error log). */
  failingAfterMs?: number;
  now?: () => number;
}

/** What /readyz asks of the relay. */
export interface RelayHealth {
  /** `failing`: every pass has failed for at least `failingAfterMs`; `out of memory`: so, with Redis at maxmemory. */
  state: 'ok' | 'failing' | 'out of memory';
  /** How long every pass has failed, in ms (0 when the last one worked). */
  failingForMs: number;
}

/** Default of RELAY_FAILING_READY_MS. */
export const RELAY_FAILING_AFTER_MS = 30_000;

type Job = { name: string; data: JobPayload; opts: JobsOptions };

/**
 * The default wait before dispatch marks are written: at a hundred orders a second a worker's
 * relay then marks dozens of rows per transaction, where 10 ms marked one or two. A row whose mark
 * is lost with its process is enqueued again by a sweep, and its job id drops the copy.
 */
const MARK_DELAY_MS = 100;

export class OutboxRelay {
  private readonly batchSize: number;
  private readonly now: () => number;
  private running: Promise<void> | undefined;
  private kicked = false;
  private sweepDue = false;
  private timer: NodeJS.Timeout | undefined;
  private markTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failing = false;
  private markRetryMs = 0;
  private readonly failures: RepeatedLog;
  private readonly logger: Logger;
  /** Since when every pass has failed, and with what error last. */
  private failingSince: number | undefined;
  private lastError: unknown;
  private saidStalled = false;
  /** Enqueued, not yet marked dispatched: never enqueued again by this relay meanwhile. */
  private readonly unmarked = new Set<number>();

  constructor(
    private readonly db: Db,
    private readonly queues: Queues,
    logger: Logger,
    private readonly options: RelayOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.now = options.now ?? Date.now;
    this.failures = new RepeatedLog(logger);
    this.logger = logger;
  }

  health(): RelayHealth {
    const failingForMs = this.failingSince === undefined ? 0 : this.now() - this.failingSince;
    if (failingForMs < (this.options.failingAfterMs ?? RELAY_FAILING_AFTER_MS) || this.failingSince === undefined) {
      return { state: 'ok', failingForMs };
    }
    return { state: isOutOfMemory(this.lastError) ? 'out of memory' : 'failing', failingForMs };
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.sweep(), this.options.sweepMs);
    this.timer.unref();
    this.sweep();
  }

  /** Asks for this process's new rows to be dispatched soon; passes never overlap. */
  kick(): void {
    this.kicked = true;
    this.run();
  }

  /** Dispatches every row pending now, whoever wrote it, and writes the marks (shutdown, tests, CLI). */
  async flush(): Promise<void> {
    while (this.running !== undefined) await this.running;
    takeCommittedOutbox(this.db); // all pending rows go below, these among them
    // What is pending now, in batches; rows written meanwhile are for the next kick or sweep.
    for (let full = true; full; ) {
      const batch = await pendingOutbox(this.db, this.batchSize);
      full = batch.length === this.batchSize;
      await this.dispatch(batch.filter((r) => !this.unmarked.has(r.id)));
      await this.writeMarks();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.running !== undefined) await this.running;
    await this.writeMarks();
  }

  private sweep(): void {
    this.sweepDue = true;
    this.run();
  }

  private run(): void {
    if (this.stopped || this.running !== undefined) return;
    // Kicked from inside a request or a job: the passes belong to no one's trace.
    this.running = detached(() => this.loop()).finally(() => {
      this.running = undefined;
      // Asked for while the last pass was finishing.
      if ((this.kicked || this.sweepDue) && !this.failing) this.run();
    });
  }

  private async loop(): Promise<void> {
    while ((this.kicked || this.sweepDue) && !this.stopped) {
      const sweeping = this.sweepDue;
      this.kicked = false;
      this.sweepDue = false;
      try {
        await this.dispatchOwn();
        if (sweeping) await this.dispatchStale();
        this.failures.recovered('dispatch', 'outbox relay dispatching again');
        this.failures.recovered('dispatch-oom', 'outbox relay dispatching again: Redis takes writes');
        this.failures.recovered('dispatch-storage', 'outbox relay dispatching again: the database answers');
        if (this.saidStalled) this.logger.info('outbox relay recovered: orders move again');
        this.failing = false;
        this.failingSince = undefined;
        this.saidStalled = false;
      } catch (error) {
        // Redis away, or the database unreadable: the rows stay in the outbox and a later sweep
        // sends them.
        this.noteFailure(error);
        this.failing = true;
        return;
      }
    }
  }

  private noteFailure(error: unknown): void {
    const now = this.now();
    this.failingSince ??= now;
    this.lastError = error;
    const oom = isOutOfMemory(error);
    if (oom) {
      this.failures.report(
        'dispatch-oom',
        'error',
        { err: error },
        'Redis is out of memory (maxmemory reached, noeviction): no job can be queued and orders wait in the outbox; raise maxmemory or shorten job retention',
      );
    } else if (error instanceof StorageUnavailableError) {
      this.failures.report(
        'dispatch-storage',
        'warn',
        { err: error, code: error.code },
        'outbox relay cannot read or mark the outbox: the database is unavailable; will retry',
      );
    } else {
      this.failures.report('dispatch', 'warn', { err: error }, 'outbox relay cannot dispatch; will retry');
    }
    const failingForMs = now - this.failingSince;
    if (!this.saidStalled && failingForMs >= (this.options.failingAfterMs ?? RELAY_FAILING_AFTER_MS)) {
      this.saidStalled = true;
      this.logger.error(
        { err: error, failingForMs, outOfMemory: oom },
        oom
          ? `outbox relay has failed for ${Math.round(failingForMs / 1000)} s because Redis is out of memory: orders are not moving; /readyz says not ready`
          : `outbox relay has failed for ${Math.round(failingForMs / 1000)} s: orders are not moving; /readyz says not ready`,
      );
    }
  }

  private async dispatchOwn(): Promise<void> {
    // Committed by this process and known from the writing: no need to read them back.
    const rows = takeCommittedOutbox(this.db).filter((r) => !this.unmarked.has(r.id));
    for (let i = 0; i < rows.length; i += this.batchSize) await this.dispatch(rows.slice(i, i + this.batchSize));
  }

  private async dispatchStale(): Promise<void> {
    const before = this.now() - this.options.sweepMs;
    if (this.db.connection.engine === 'sqlite') {
      // One writer at a time: no other process sweeps while this one reads.
      const rows = await pendingOutbox(this.db, this.batchSize, before);
      await this.dispatch(rows.filter((r) => !this.unmarked.has(r.id)));
      return;
    }
    // The rows stay locked while they are enqueued; READ COMMITTED, so that this transaction,
    // which waits on Redis, does not fail for a serialization conflict with the writers it overlaps
    // (run again after a deadlock, it enqueues the same job ids, which BullMQ drops).
    await writeTx(
      this.db,
      async (tx) => {
        const rows = (await pendingOutbox(tx, this.batchSize, before, { skipLocked: true })).filter(
          (r) => !this.unmarked.has(r.id),
        );
        await this.enqueue(rows);
        await markDispatched(
          tx,
          rows.map((r) => r.id),
          this.now(),
        );
      },
      { isolation: 'read committed' },
    );
  }

  /** Enqueues the rows, then marks them dispatched a few milliseconds later, in a batch. */
  private async dispatch(rows: OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.enqueue(rows);
    for (const row of rows) this.unmarked.add(row.id);
    this.markSoon();
  }

  /** Adds each row's jobs to the queues that subscribe to its event. */
  private async enqueue(rows: OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    const now = this.now();
    const byQueue = new Map<QueueName, Job[]>();
    // Where traces are exported, each enqueue is a span of its row's trace, carried in the job.
    const sends = tracingEnabled() ? new JobSends() : undefined;
    for (const row of rows) {
      for (const queue of ROUTES[row.type]) {
        const jobs = byQueue.get(queue) ?? [];
        const jobId = jobIdFor(row.orderId, row.type, queue, row.id);
        const data: JobPayload = { orderId: row.orderId, outboxId: row.id };
        jobs.push({
          name: row.type,
          data: sends ? sends.start(queue, jobId, row, data) : data,
          opts: { jobId, delay: Math.max(0, row.runAt - now) },
        });
        byQueue.set(queue, jobs);
      }
    }
    try {
      await this.clearKeptJobs(rows.filter((row) => row.redrive));
      await Promise.all([...byQueue].map(([queue, jobs]) => this.queues[queue].addBulk(jobs)));
    } catch (error) {
      sends?.end(error);
      throw error;
    }
    sends?.end();
  }

  /**
   * Removes the completed or failed job that still holds each re-driven row's id, so that the add
   * after it is not dropped. A job waiting, delayed or running is left alone: it will do the work.
   */
  private async clearKeptJobs(rows: OutboxRow[]): Promise<void> {
    await Promise.all(
      rows.flatMap((row) =>
        ROUTES[row.type].map(async (queue) => {
          const jobId = jobIdFor(row.orderId, row.type, queue, row.id);
          const state = await this.queues[queue].getJobState(jobId);
          if (state === 'completed' || state === 'failed') await this.queues[queue].remove(jobId);
        }),
      ),
    );
  }

  private markSoon(): void {
    if (this.markTimer) return;
    this.markTimer = setTimeout(
      () => {
        this.markTimer = undefined;
        this.writeMarks().then(
          () => {
            this.markRetryMs = 0;
            this.failures.recovered('mark', 'outbox rows marked dispatched again');
          },
          (err) => {
            // The rows were enqueued; unmarked, a sweep may enqueue them again, which is harmless.
            // A full disk fails every try: back off, up to a few seconds.
            this.failures.report('mark', 'warn', { err }, 'could not mark outbox rows dispatched; will try again');
            this.markRetryMs = Math.min(Math.max(this.markRetryMs * 2, 50), 5_000);
            this.markSoon();
          },
        );
      },
      this.markRetryMs || (this.options.markDelayMs ?? MARK_DELAY_MS),
    );
  }

  private async writeMarks(): Promise<void> {
    if (this.markTimer) clearTimeout(this.markTimer);
    this.markTimer = undefined;
    if (this.unmarked.size === 0) return;
    const ids = [...this.unmarked];
    for (let i = 0; i < ids.length; i += this.batchSize) {
      const batch = ids.slice(i, i + this.batchSize);
      await markDispatched(this.db, batch, this.now());
      for (const id of batch) this.unmarked.delete(id);
    }
  }
}
