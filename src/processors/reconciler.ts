/**
 * The reconciler: every RECONCILE_INTERVAL_MS, re-drives orders that stopped moving (a job lost
 * with a Redis that came back empty, a delayed payment deadline gone with it, a message never
 * sent) from the database alone, then hands what it wrote to the relay. Any number of processes
 * may run it at once (db/reconcile.ts explains why that is safe).
 */
import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import { pruneOutbox } from '../db/outbox.ts';
import { reconcileOnce, type RedrivenOrder } from '../db/reconcile.ts';

export interface ReconcilerOptions {
  intervalMs: number;
  stuckAfterMs: number;
  /** Dispatched outbox rows are kept this long for operators, then deleted. */
  outboxRetentionMs?: number;
  now?: () => number;
  /** Called after a pass that wrote events. */
  onRedrive?: () => void;
}

const WEEK_MS = 7 * 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private lastPrune = 0;
  private readonly now: () => number;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly options: ReconcilerOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => this.runSafely(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass; returns the orders it re-drove. */
  runOnce(): RedrivenOrder[] {
    const now = this.now();
    const redriven = reconcileOnce(this.db, { now, stuckAfterMs: this.options.stuckAfterMs });
    for (const order of redriven) {
      this.logger.warn({ orderId: order.orderId, status: order.status, events: order.events }, 'reconciler re-drove a stuck order');
    }
    if (redriven.length > 0) this.options.onRedrive?.();
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      const pruned = pruneOutbox(this.db, now - (this.options.outboxRetentionMs ?? WEEK_MS));
      if (pruned > 0) this.logger.info({ pruned }, 'pruned dispatched outbox rows');
    }
    return redriven;
  }

  private runSafely(): void {
    try {
      this.runOnce();
    } catch (err) {
      // A busy database or a disk hiccup: the next pass tries again.
      this.logger.error({ err }, 'reconciler pass failed');
    }
  }
}
