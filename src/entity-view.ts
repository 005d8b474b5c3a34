import type { StateValue } from 'xstate';

/** An entity as callers see it. Times are ISO-8601 strings. */
export interface EntityView<TContext = Record<string, unknown>> {
  readonly machine: string;
  readonly id: string;
  /** The XState state value, e.g. `'active'` or `{ paused: 'idle' }`. */
  readonly value: StateValue;
  /** Leaf state paths as one string, e.g. `'paused.idle'`. */
  readonly state: string;
  /** `done` once the machine reached a top-level final state. */
  readonly status: 'active' | 'done';
  readonly context: TContext;
  /** Number of committed transitions (the creation counts as 1); the optimistic-lock version. */
  readonly version: number;
  readonly machineVersion: number;
  readonly stateEnteredAt: string;
  /** Event types the current state accepts (guards not evaluated). */
  readonly nextEvents: readonly string[];
}
