/** What a freeze covers and why: shared by the gate's view, the listing and the row written. */
export interface FreezeScope {
  readonly id: string;
  readonly machine: string;
  /** Event types frozen; null: every event of the machine (timers' events included). */
  readonly events: readonly string[] | null;
  /** States frozen, as leaf-path prefixes (`paused` covers `paused.idle`); null: every state. */
  readonly states: readonly string[] | null;
  /** Event types that go on despite the freeze (support-safe actions); null: none. */
  readonly except: readonly string[] | null;
  readonly reason: string;
}

/** A freeze as the gate reads it (store/governance-store.ts loads the active ones). */
export interface Freeze extends FreezeScope {
  /** Milliseconds since the epoch at which the freeze ends by itself; null: until lifted. */
  readonly until: number | null;
}

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
