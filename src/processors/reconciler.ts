/**
 * The reconciler: every RECONCILE_INTERVAL_MS, re-drives orders that stopped moving (a job lost
 * with a Redis that came back empty, a delayed payment deadline gone with it, a message never
 * sent) from the database alone, then hands what it wrote to the relay. Any number of processes
 * may run it at once (db/reconcile.ts explains why that is safe).
 */
import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import { recordOperatorActions } from '../db/operator-actions.ts';
import { pruneOutbox } from '../db/outbox.ts';
import { findStuck, redrive, type RedrivenOrder } from '../db/reconcile.ts';
import { RetryLaterError } from '../domain/errors.ts';
import { RepeatedLog } from '../lib/repeated-log.ts';

export interface ReconcilerOptions {
  intervalMs: number;
  stuckAfterMs: number;
  /** Dispatched outbox rows are kept this long for operators, then deleted. */
  outboxRetentionMs?: number;
  now?: () => number;
  /** Called after a pass that wrote events. */
  onRedrive?: () => void;
  /** True when the order waits on a job that gave up: an operator retries it, not the reconciler. */
  isParked?: (order: RedrivenOrder) => Promise<boolean>;
  /** Who each re-drive is recorded as on the order's timeline: `reconciler`, or `cli` for a pass by hand. */
  actor?: string;
}

const WEEK_MS = 7 * 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private lastPrune = 0;
  private running: Promise<void> | undefined;
  /** Where the next pass starts looking for orders at rest that may still owe a message. */
  private settledSince: number | undefined;
  private readonly now: () => number;
  private readonly failures: RepeatedLog;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly options: ReconcilerOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.failures = new RepeatedLog(logger);
  }

  start(): void {
    this.timer = setInterval(() => this.runSafely(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass; returns the orders it re-drove. */
  async runOnce(): Promise<RedrivenOrder[]> {
    const now = this.now();
    const cutoff = now - this.options.stuckAfterMs;
    const options = { now, stuckAfterMs: this.options.stuckAfterMs, settledSince: this.settledSince };
    const stuck = await this.withoutParked(await findStuck(this.db, options));
    const redriven = await redrive(this.db, stuck, options);
    // Orders that came to rest before this pass's cut-off have had their messages checked.
    this.settledSince = cutoff - this.options.intervalMs;
    for (const order of redriven) {
      this.logger.warn(
        { orderId: order.orderId, status: order.status, events: order.events },
        'reconciler re-drove a stuck order',
      );
    }
    if (redriven.length > 0) {
      this.options.onRedrive?.();
      await recordOperatorActions(
        this.db,
        redriven.map((order) => ({
          orderId: order.orderId,
          action: 'redrive' as const,
          actor: this.options.actor ?? 'reconciler',
          outcome: order.events.join(', '),
          at: now,
        })),
      ).catch((err) => this.logger.warn({ err }, 'could not record the re-drives on the orders’ timelines'));
    }
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      const pruned = await pruneOutbox(this.db, now - (this.options.outboxRetentionMs ?? WEEK_MS));
      if (pruned > 0) this.logger.info({ pruned }, 'pruned dispatched outbox rows');
    }
    return redriven;
  }

  private async withoutParked(stuck: RedrivenOrder[]): Promise<RedrivenOrder[]> {
    const { isParked } = this.options;
    if (!isParked) return stuck;
    const kept: RedrivenOrder[] = [];
    for (const order of stuck) {
      // Redis away: re-emit anyway; the outbox holds the events until it is back.
      const parked = await isParked(order).catch(() => false);
      if (parked) this.logger.debug({ orderId: order.orderId }, 'order waits on a failed job; left to an operator');
      else kept.push(order);
    }
    return kept;
  }

  private runSafely(): void {
    if (this.running !== undefined) return;
    this.running = (async () => {
      try {
        await this.runOnce();
        this.failures.recovered('pass', 'reconciler passes succeed again');
        this.failures.recovered('pass-waits', 'reconciler passes reach the database again');
      } catch (err) {
        // A database that cannot write, or a pass that lost to concurrent work, is expected to
        // pass on its own: the next pass tries again. Anything else is worth an error.
        if (err instanceof RetryLaterError) {
          this.failures.report(
            'pass-waits',
            'warn',
            { err },
            'reconciler pass waits for the database; the next pass tries again',
          );
        } else {
          this.failures.report('pass', 'error', { err }, 'reconciler pass failed');
        }
      } finally {
        this.running = undefined;
      }
    })();
  }
}
