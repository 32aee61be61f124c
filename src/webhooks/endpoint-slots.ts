/**
 * A cap on the attempts in flight to one endpoint in this process, with a line behind it. An
 * attempt that finds its endpoint's slots taken waits here for the next one to free, as long as
 * the line is not full: the slot passes straight to it, without a trip through the queue. Past
 * that the attempt is turned away and its job goes back to the queue for a while, longer with
 * every attempt turned away in the same busy spell. So a slow endpoint holds at most its slots
 * and its line of the worker's slots (the worker sizes the line to leave the others at least
 * half), and a burst of deliveries to one endpoint waits its turn instead of spinning through the
 * queue and the database.
 */

/** How long the first attempt turned away stays away, about; each one after it, that much longer. */
export const BUSY_WAIT_MS = 250;
/** The longest an attempt turned away stays away, about; a quiet while this long ends a busy spell. */
export const MAX_BUSY_WAIT_MS = 5_000;

interface Line {
  busy: number;
  waiting: (() => void)[];
}

interface Spell {
  turnedAway: number;
  lastAt: number;
}

export interface EndpointSlotsOptions {
  /** Attempts in flight to one endpoint. */
  perEndpoint: number;
  /** Attempts that may wait in line for them; `perEndpoint` when absent. */
  lineLength?: number;
  /** Milliseconds, for the busy spells (performance.now by default). */
  clock?: () => number;
}

export class EndpointSlots {
  private readonly lines = new Map<string, Line>();
  private readonly spells = new Map<string, Spell>();
  private readonly perEndpoint: number;
  private readonly lineLength: number;
  private readonly clock: () => number;

  constructor(options: EndpointSlotsOptions) {
    this.perEndpoint = options.perEndpoint;
    this.lineLength = options.lineLength ?? options.perEndpoint;
    this.clock = options.clock ?? (() => performance.now());
  }

  /**
   * A slot for `endpointId`: at once when one is free, after a wait in line when the line has
   * room, or `false` when it is full (come back after `turnedAwayMs`). Each `true` owes a
   * `release`.
   */
  async take(endpointId: string): Promise<boolean> {
    const line = this.lines.get(endpointId) ?? { busy: 0, waiting: [] };
    this.lines.set(endpointId, line);
    if (line.busy < this.perEndpoint) {
      line.busy += 1;
      return true;
    }
    if (line.waiting.length >= this.lineLength) {
      this.turnAway(endpointId);
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

  /** How long an attempt just turned away stays away: longer the more were turned away in this busy spell. */
  turnedAwayMs(endpointId: string, random: () => number = Math.random): number {
    const turnedAway = this.spells.get(endpointId)?.turnedAway ?? 1;
    return Math.round(Math.min(MAX_BUSY_WAIT_MS, BUSY_WAIT_MS * turnedAway) * (0.5 + random()));
  }

  /** Attempts of `endpointId` in flight and waiting in line. */
  load(endpointId: string): { busy: number; waiting: number } {
    const line = this.lines.get(endpointId);
    return { busy: line?.busy ?? 0, waiting: line?.waiting.length ?? 0 };
  }

  private turnAway(endpointId: string): void {
    const now = this.clock();
    const spell = this.spells.get(endpointId);
    if (spell && now - spell.lastAt < MAX_BUSY_WAIT_MS) {
      spell.turnedAway += 1;
      spell.lastAt = now;
      return;
    }
    // A new spell; forget the ones that ended, so that the map holds only busy endpoints.
    for (const [id, old] of this.spells) if (now - old.lastAt >= MAX_BUSY_WAIT_MS) this.spells.delete(id);
    this.spells.set(endpointId, { turnedAway: 1, lastAt: now });
  }
}
