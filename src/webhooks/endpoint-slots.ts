/**
 * A cap on the attempts in flight to one endpoint in this process, with a short line behind it.
 * An attempt that finds its endpoint's slots taken waits here for the next one to free, as long as
 * no more than `perEndpoint` others already wait: the slot passes straight to it, without a trip
 * through the queue. Past that the attempt is turned away, and its job goes back to the queue for
 * a while that grows with every attempt turned away since the endpoint was last idle. So a slow
 * endpoint holds at most twice its share of the worker's slots, never all of them, and a burst of
 * deliveries to one endpoint waits its turn instead of spinning through the queue and the database.
 */

/** How long the first attempt turned away stays away, about; each one after it, that much longer. */
export const BUSY_WAIT_MS = 250;
/** The longest an attempt turned away stays away, about. */
export const MAX_BUSY_WAIT_MS = 5_000;

interface Line {
  busy: number;
  waiting: (() => void)[];
  /** Attempts turned away since the endpoint was last idle. */
  turnedAway: number;
}

export class EndpointSlots {
  private readonly lines = new Map<string, Line>();

  constructor(private readonly perEndpoint: number) {}

  /**
   * A slot for `endpointId`: at once when one is free, after a wait in line when the line is
   * short, or `false` when it is full (come back after `turnedAwayMs`). Each `true` owes a
   * `release`.
   */
  async take(endpointId: string): Promise<boolean> {
    const line = this.lines.get(endpointId) ?? { busy: 0, waiting: [], turnedAway: 0 };
    this.lines.set(endpointId, line);
    if (line.busy < this.perEndpoint) {
      line.busy += 1;
      return true;
    }
    if (line.waiting.length >= this.perEndpoint) {
      line.turnedAway += 1;
      return false;
    }
    // The slot is handed over by `release`: `busy` stays as it is.
    await new Promise<void>((resolve) => line.waiting.push(resolve));
    return true;
  }

  release(endpointId: string): void {
    const line = this.lines.get(endpointId);
    if (!line) return;
    const next = line.waiting.shift();
    if (next) {
      next();
      return;
    }
    line.busy -= 1;
    if (line.busy <= 0) this.lines.delete(endpointId);
  }

  /** How long an attempt just turned away stays away: longer the more were turned away since the endpoint was idle. */
  turnedAwayMs(endpointId: string, random: () => number = Math.random): number {
    const turnedAway = this.lines.get(endpointId)?.turnedAway ?? 1;
    return Math.round(Math.min(MAX_BUSY_WAIT_MS, BUSY_WAIT_MS * turnedAway) * (0.5 + random()));
  }

  /** Attempts of `endpointId` in flight and waiting in line. */
  load(endpointId: string): { busy: number; waiting: number } {
    const line = this.lines.get(endpointId);
    return { busy: line?.busy ?? 0, waiting: line?.waiting.length ?? 0 };
  }
}
