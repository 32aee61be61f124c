/**
 * Re-drives webhook deliveries whose attempt is overdue: their job was lost (Redis wiped, a
 * fan-out job gone with it, a job that failed before it recorded anything). Every
 * RECONCILE_INTERVAL_MS, from the database alone, deliveries still pending well past their time
 * are queued again under their own ids: one whose job is still queued or running is left as it is.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import { overdueDeliveries } from '../db/webhook-deliveries.ts';
import { enqueueDeliveries, type DeliveryQueue } from '../queues/webhook-deliveries.ts';
import { RepeatedLog } from '../lib/repeated-log.ts';

const BATCH = 500;

export class DeliveryRedrive {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly failures: RepeatedLog;

  constructor(
    private readonly db: Db,
    private readonly queue: DeliveryQueue,
    private readonly logger: Logger,
    private readonly options: { intervalMs: number; overdueAfterMs: number; now: () => number },
  ) {
    this.failures = new RepeatedLog(logger);
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.running !== undefined) return;
      this.running = this.runOnce()
        .then(
          () => this.failures.recovered('pass', 'webhook re-drive passes succeed again'),
          (err) => this.failures.report('pass', 'warn', { err }, 'webhook re-drive pass failed; will try again'),
        )
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; answers how many deliveries it queued again. */
  async runOnce(): Promise<number> {
    const now = this.options.now();
    const overdue = await overdueDeliveries(this.db, now - this.options.overdueAfterMs, BATCH);
    await enqueueDeliveries(
      this.queue,
      overdue.map((d) => ({ ...d, nextAttemptAt: now })),
      now,
    );
    if (overdue.length > 0) this.logger.info({ deliveries: overdue.length }, 're-drove overdue webhook deliveries');
    return overdue.length;
  }
}
