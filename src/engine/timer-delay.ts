import { TollgateError } from '../errors.ts';

/**
 * The longest timer delay tollgate accepts: 10^14 ms, about 3,168 years. A timer's due time (now + delay) must
 * fit both a JavaScript `Date` (which ends in the year 275760) and Postgres's `timestamptz` as tollgate writes it
 * (an ISO string, whose year must have four digits): a fixed bound far inside both keeps the check the same for
 * every clock, in the engine, in a dry run and at registration.
 */
export const MAX_TIMER_DELAY_MS = 1e14;

/** Where a delay came from, for the message. */
export interface DelaySource {
  readonly machine: string;
  readonly entityId?: string;
  /** The state being left or entered, `(initial)` for create. */
  readonly state?: string;
  readonly event?: string;
  /** XState's id for the delayed event, or the `after` key at registration. */
  readonly timer: string;
}

/** Whether `delayMs` is a delay a timer row can hold: a finite number from 0 to {@link MAX_TIMER_DELAY_MS}. */
export function isStorableDelay(delayMs: unknown): delayMs is number {
  return typeof delayMs === 'number' && Number.isFinite(delayMs) && delayMs >= 0 && delayMs <= MAX_TIMER_DELAY_MS;
}

/**
 * TG_TIMER_DELAY_OUT_OF_RANGE unless `delayMs` is storable. Checked before anything is written, so a delay
 * that would overflow the due date is refused up front instead of committing a timer nothing can fire.
 */
export function checkTimerDelay(delayMs: unknown, source: DelaySource): number {
  if (isStorableDelay(delayMs)) return delayMs;
  const where = source.entityId ? `${source.machine}/${source.entityId}` : `machine '${source.machine}'`;
  const on = source.event ? ` on '${source.event}'` : '';
  const from = source.state ? ` in state '${source.state}'` : '';
  throw new TollgateError(
    'TG_TIMER_DELAY_OUT_OF_RANGE',
    `Timer '${source.timer}' of ${where}${on}${from} has a delay of ${String(delayMs)} ms; a timer delay must be a ` +
      `number of milliseconds from 0 to ${MAX_TIMER_DELAY_MS} (about 3,168 years). Nothing was written: give the ` +
      `field the delay is computed from (a create input or event payload) a value in that range.`,
    {
      machine: source.machine,
      entityId: source.entityId,
      state: source.state,
      event: source.event,
      timer: source.timer,
      delayMs: typeof delayMs === 'number' && Number.isFinite(delayMs) ? delayMs : String(delayMs),
    },
  );
}
