import type { EventObject } from 'xstate';

/**
 * An entity's recorded history as the replay engine reads it: plain data, loaded by recorded-history.ts from the
 * transitions, effects, timers and rejections tables (or built by hand in tests).
 */
export interface RecordedEntity {
  readonly machine: string;
  readonly id: string;
  /** Committed transitions in seq order (seq 1 is the creation), with refused attempts interleaved by time. */
  readonly steps: readonly RecordedStep[];
  /** The entity's timer rows, to know which timers were pending at a point of its history. */
  readonly timers: readonly RecordedTimer[];
  /** The entity row now, when loaded from the database. */
  readonly current?: { readonly version: number; readonly machineVersion: number; readonly state: string; readonly snapshot: unknown };
}

/**
 * What a step is, from its recorded event. `override`: a person's repair outside the gate (a `$override` row).
 * `import`: the entity's first row when it was imported in a state (`$imported`, docs/adoption.md) instead of created.
 */
export type StepKind = 'create' | 'import' | 'event' | 'timer' | 'migration' | 'override';

/** One recorded step: a committed transition, or a refused attempt (seq null). */
export interface RecordedStep {
  readonly kind: StepKind;
  /** The transition's seq; null for a refused attempt. */
  readonly seq: number | null;
  /** The transition id (null for a refused attempt). */
  readonly transitionId: string | null;
  /**
   * The event as committed. The creation's is `{ type: 'xstate.init', input }`; a migration's `{ type: '$migrated',
   * from, to }`; an override's `{ type: '$override', reason, illegal }`.
   */
  readonly event: EventObject;
  /** Who committed it (the caller's actor; for an override, the database user). Absent when not recorded. */
  readonly actor?: string;
  /** For a timer's firing: the sendId of the timer that fired (`xstate.after.<delay>.<stateNodeId>`). */
  readonly timerSendId?: string;
  /** Commit time (ms since the epoch): the `now` the gate evaluated and armed timers with. */
  readonly at: number;
  readonly machineVersion: number;
  readonly fromState: string | null;
  /** What happened then; absent when not known. */
  readonly outcome?: StepOutcome;
  /** The persisted snapshot stored after the step (committed transitions only). */
  readonly snapshot?: unknown;
  /**
   * A legacy system's transition observed in shadow mode (docs/adoption.md): the machine's own, committed with only
   * the effects the machine opts in to, so its effects are not compared.
   */
  readonly shadow?: true;
}

/** One outcome of a step, recorded or replayed, in the terms a business reads: accepted or not, where to, what effects. */
export interface StepOutcome {
  readonly accepted: boolean;
  /** The target state when accepted; the state the event was refused in otherwise. */
  readonly state: string;
  /** The refusal code (TG_ILLEGAL_TRANSITION, TG_GUARD_REJECTED; `TG_TIMER_SETTLED` for a timer this version does not have pending). */
  readonly code?: string;
  readonly effects: readonly RecordedEffect[];
  readonly timers: readonly RecordedArm[];
}

/** An effect of a step: its type and parameters (in index order). */
export interface RecordedEffect {
  readonly type: string;
  readonly params: unknown;
}

/** A timer a step armed. */
export interface RecordedArm {
  readonly sendId: string;
  readonly delayMs: number;
}

/** A timer row. */
export interface RecordedTimer {
  readonly id: string;
  readonly transitionId: string;
  readonly sendId: string;
  readonly event: EventObject;
  readonly createdAt: number;
  readonly dueAt: number;
  readonly status: 'scheduled' | 'fired' | 'cancelled' | 'stale';
  readonly settledAt: number | null;
}
