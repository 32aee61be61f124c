/**
 * The outbox relay: moves committed outbox rows into the queues that subscribe to them, then marks
 * them dispatched. Kicked after each commit in this process, and swept periodically for rows left
 * behind by a process that died between its commit and its enqueue, or written while Redis was
 * away. A row enqueued twice (two relays, a crash before the mark) is dropped by its job id.
 */
import type { Logger } from 'pino';
import type { JobsOptions } from 'bullmq';
import type { Db } from '../db/client.ts';
import { markDispatched, pendingOutbox, type OutboxRow } from '../db/outbox.ts';
import type { JobPayload } from '../domain/events.ts';
import type { Queues } from './queues.ts';
import { ROUTES, jobIdFor, type QueueName } from './routing.ts';

export interface RelayOptions {
  sweepMs: number;
  batchSize?: number;
  now?: () => number;
}

type Job = { name: string; data: JobPayload; opts: JobsOptions };

export class OutboxRelay {
  private readonly batchSize: number;
  private readonly now: () => number;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly db: Db,
    private readonly queues: Queues,
    private readonly logger: Logger,
    private readonly options: RelayOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.options.sweepMs);
    this.timer.unref();
    this.kick();
  }

  /** Asks for a pass soon; passes never overlap, and kicks during a pass cause one more. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  /** Dispatches everything pending now; resolves when done (used by shutdown and tests). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    await this.dispatchAll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.dispatchAll();
        if (this.failing) this.logger.info('outbox relay dispatching again');
        this.failing = false;
      } catch (error) {
        // Redis away: the rows stay in the outbox and the next sweep tries again.
        if (!this.failing) this.logger.warn({ err: error }, 'outbox relay cannot reach the queues; will retry');
        this.failing = true;
        return;
      }
    } while (this.again && !this.stopped);
  }

  private async dispatchAll(): Promise<void> {
    for (;;) {
      const rows = pendingOutbox(this.db, this.batchSize);
      if (rows.length === 0) return;
      await this.dispatch(rows);
      markDispatched(this.db, rows.map((r) => r.id), this.now());
      if (rows.length < this.batchSize) return;
    }
  }

  private async dispatch(rows: OutboxRow[]): Promise<void> {
    const now = this.now();
    const byQueue = new Map<QueueName, Job[]>();
    for (const row of rows) {
      for (const queue of ROUTES[row.type]) {
        const jobs = byQueue.get(queue) ?? [];
        jobs.push({
          name: row.type,
          data: { orderId: row.orderId, outboxId: row.id },
          opts: { jobId: jobIdFor(row.orderId, row.type, queue), delay: Math.max(0, row.runAt - now) },
        });
        byQueue.set(queue, jobs);
      }
    }
    await Promise.all([...byQueue].map(([queue, jobs]) => this.queues[queue].addBulk(jobs)));
  }
}
