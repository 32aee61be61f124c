/**
 * One clock for every process of a deployment: Redis's (`TIME`). Payment deadlines, "stuck for"
 * decisions and timeline times are compared across processes and hosts; a host whose clock runs
 * ahead (or behind) would fail payments early and write timelines that go backwards. Each process
 * measures how far its own clock is from Redis's at start and every few seconds, and reads the
 * time as its own clock corrected by that offset (the clock's rate is the host's; only the offset
 * is measured). While Redis cannot be asked, the last offset holds.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** An offset past this is worth telling the operator (NTP keeps hosts within milliseconds). */
export const CLOCK_SKEW_WARN_MS = 2_000;

/** How often the offset is measured again. */
const SYNC_EVERY_MS = 10_000;

/** A measurement whose round trip took longer than this says little: it is not taken. */
const MAX_ROUND_TRIP_MS = 500;

export class RedisClock {
  private offset = 0;
  private timer: NodeJS.Timeout | undefined;
  private measured = false;
  private warned = false;

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
    private readonly local: () => number = Date.now,
  ) {}

  /** The time, in ms since the epoch, on Redis's clock. */
  readonly now = (): number => this.local() + this.offset;

  /** How far Redis's clock is ahead of this host's (negative: this host is ahead), as last measured. */
  get offsetMs(): number {
    return this.offset;
  }

  /** Whether this host's clock is further than CLOCK_SKEW_WARN_MS from Redis's. */
  get skewed(): boolean {
    return Math.abs(this.offset) > CLOCK_SKEW_WARN_MS;
  }

  /** Measures the offset once; a failure (Redis away, a slow answer) keeps the last one. */
  async sync(): Promise<void> {
    try {
      const sent = this.local();
      const [seconds, micros] = await this.redis.time();
      const received = this.local();
      if (received - sent > MAX_ROUND_TRIP_MS) return;
      const redisMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      this.offset = Math.round(redisMs - (sent + received) / 2);
      this.measured = true;
      this.report();
    } catch (err) {
      if (!this.measured) this.logger.debug({ err }, 'could not read Redis TIME; using this host’s clock for now');
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.sync(), SYNC_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private report(): void {
    if (this.skewed && !this.warned) {
      this.warned = true;
      const seconds = Math.abs(this.offset / 1000).toFixed(1);
      this.logger.warn(
        { clockOffsetMs: this.offset },
        `this host's clock is ${seconds} s ${this.offset < 0 ? 'ahead of' : 'behind'} Redis's: deadlines, stuck orders and timelines use Redis's clock; fix the host's time (NTP)`,
      );
    } else if (!this.skewed && this.warned) {
      this.warned = false;
      this.logger.info({ clockOffsetMs: this.offset }, "this host's clock agrees with Redis's again");
    }
  }
}
