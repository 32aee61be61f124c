/**
 * Deletes expired idempotency keys on a timer where the API runs: an expired key is free for a
 * new request, and the table does not grow with every request ever made.
 */
import type { Logger } from 'pino';
import type { Db } from './client.ts';
import { sweepIdempotencyKeys } from './idempotency.ts';

/** Expired idempotency keys are deleted this often (or once per TTL, when that is shorter). */
const SWEEP_MAX_MS = 15 * 60 * 1000;
const SWEEP_MIN_MS = 1_000;

export class IdempotencySweeper {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (this.timer) return;
    const everyMs = Math.min(Math.max(this.ttlMs, SWEEP_MIN_MS), SWEEP_MAX_MS);
    this.timer = setInterval(() => void this.sweep(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async sweep(): Promise<void> {
    try {
      const swept = await sweepIdempotencyKeys(this.db, this.now());
      if (swept > 0) this.logger.debug({ swept }, 'expired idempotency keys deleted');
    } catch (err) {
      this.logger.warn({ err }, 'could not sweep expired idempotency keys; will try again');
    }
  }
}
