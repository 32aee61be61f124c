/**
 * Logging a failure that repeats (Redis away, a full disk, a wrong URL) without flooding the log:
 * the first occurrence is logged at once; identical ones after it are counted and logged with
 * backoff (1 s, 2 s, 4 s … up to a minute) with how many there were; the recovery is logged once.
 */
import type { Logger } from 'pino';

const FIRST_GAP_MS = 1_000;
const MAX_GAP_MS = 60_000;

interface Streak {
  count: number;
  suppressed: number;
  nextAt: number;
  gapMs: number;
}

export class RepeatedLog {
  private readonly streaks = new Map<string, Streak>();

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs `message` at `level` now or later, as the backoff for `key` allows. */
  report(key: string, level: 'warn' | 'error', context: Record<string, unknown>, message: string): void {
    const now = this.now();
    const streak = this.streaks.get(key);
    if (!streak) {
      this.streaks.set(key, { count: 1, suppressed: 0, nextAt: now + FIRST_GAP_MS, gapMs: FIRST_GAP_MS });
      this.logger[level](context, message);
      return;
    }
    streak.count += 1;
    if (now < streak.nextAt) {
      streak.suppressed += 1;
      return;
    }
    this.logger[level]({ ...context, repeated: streak.count, since: streak.suppressed }, `${message} (still failing)`);
    streak.suppressed = 0;
    streak.gapMs = Math.min(streak.gapMs * 2, MAX_GAP_MS);
    streak.nextAt = now + streak.gapMs;
  }

  /** Ends the streak for `key`, logging `message` if it had begun. */
  recovered(key: string, message: string): void {
    const streak = this.streaks.get(key);
    if (!streak) return;
    this.streaks.delete(key);
    this.logger.info({ failures: streak.count }, message);
  }

  /** Whether `key` is failing now. */
  failing(key: string): boolean {
    return this.streaks.has(key);
  }
}
