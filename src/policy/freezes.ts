import type { Freeze } from '../store/rows.ts';

/** Whether the entity state string (leaf paths joined by `,`) is in `state` or inside it. */
export function inState(entityState: string, state: string): boolean {
  return entityState.split(',').some((leaf) => leaf === state || leaf.startsWith(`${state}.`));
}

/**
 * The first freeze that holds `eventType` for an entity of `machine` in `state` at `now`, if any: same machine, not
 * ended, the event among its events (or it lists none), the state among its states (or it lists none), and the
 * event not among its exceptions.
 */
export function matchingFreeze(freezes: readonly Freeze[], machine: string, state: string, eventType: string, now: number): Freeze | undefined {
  return freezes.find(
    (f) =>
      f.machine === machine &&
      (f.until === null || f.until > now) &&
      (f.events === null || f.events.includes(eventType)) &&
      (f.states === null || f.states.some((s) => inState(state, s))) &&
      !(f.except ?? []).includes(eventType),
  );
}

/** Freezes of `machine` (or all) in force at `now`. */
export function activeFreezes(freezes: readonly Freeze[], now: number, machine?: string): Freeze[] {
  return freezes.filter((f) => (machine === undefined || f.machine === machine) && (f.until === null || f.until > now));
}
