import type { AnyMachineSnapshot, EventObject, StateValue } from 'xstate';

/** A custom action of a transition: becomes one outbox row. `index` is its position among the effects. */
export interface EffectIntent {
  readonly index: number;
  readonly type: string;
  readonly params: Readonly<Record<string, unknown>>;
}

/** A delayed event (`after`, or `raise` with `delay`): becomes one timer row. */
export interface TimerIntent {
  readonly index: number;
  /** XState's id for the delayed event (`xstate.after.<delay>.<stateNodeId>`); what `xstate.cancel` names. */
  readonly sendId: string;
  readonly event: EventObject;
  readonly delayMs: number;
}

/** The engine's verdict that an event is accepted: what to commit. */
export interface Accepted {
  readonly kind: 'accepted';
  readonly snapshot: AnyMachineSnapshot;
  /** JSON-safe persisted form of `snapshot`. */
  readonly persisted: unknown;
  readonly value: StateValue;
  /** Leaf paths as one string (see stateToString). */
  readonly state: string;
  readonly effects: readonly EffectIntent[];
  readonly timers: readonly TimerIntent[];
  /** sendIds of timers scheduled by earlier transitions that this one cancels. */
  readonly cancels: readonly string[];
}

/**
 * The engine's verdict that an event is refused, deterministic for (state, context, event): illegal, every guard
 * false, or the machine threw while evaluating it (`TG_MACHINE_FAULT`).
 */
export interface Refused {
  readonly kind: 'refused';
  readonly code: 'TG_ILLEGAL_TRANSITION' | 'TG_GUARD_REJECTED' | 'TG_MACHINE_FAULT';
  readonly state: string;
  /** Event descriptors the state does accept (for the message; wildcard patterns included). */
  readonly accepted: readonly string[];
  /** For `TG_MACHINE_FAULT`: what the machine threw. */
  readonly reason?: string;
}

export type Decision = Accepted | Refused;
