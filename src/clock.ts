/**
 * The only place in `src/` that reads the wall clock. Everything that needs "now" (state entry times, timer due
 * times, rejection timestamps) takes a Clock, so tests control time without sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that moves only when told to. Share one between the runtime and the timer scheduler in tests.
 *
 * @example
 * const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
 * clock.advance(14 * 24 * 3600_000);
 */
export class ManualClock implements Clock {
  #now: number;
  readonly #listeners = new Set<(now: number) => void>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves time forward by `ms` (never back) and tells listeners. */
  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance needs a non-negative number of ms, got ${ms}`);
    this.#now += ms;
    for (const listener of this.#listeners) listener(this.#now);
    return this.#now;
  }

  /** Sets the time (must not go back). */
  set(now: number): void {
    this.advance(now - this.#now);
  }

  /** Called after every advance; returns an unsubscribe function. */
  onAdvance(listener: (now: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
