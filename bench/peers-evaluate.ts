/**
 * The subscription machine of machines/subscription.ts evaluated purely (XState's `initialTransition` and
 * `transition`, nothing run), for a peer that has no state machine of its own (the DBOS app of bench/peers). It
 * lives beside bench/peers/ rather than in it so that `xstate` resolves to the project's copy, the one the
 * machine was built with.
 */
import { initialTransition, transition, type EventFrom } from 'xstate';
import { subscriptionMachine, type SubscriptionInput } from '../machines/subscription.ts';

/** What one evaluation decided: the persisted snapshot and state to write, and the custom actions to run later. */
export interface Decision {
  readonly legal: boolean;
  readonly snapshot: unknown;
  readonly state: string;
  readonly effects: ReadonlyArray<{ type: string; params: unknown }>;
}

const customActions = new Set(['chargePayment', 'sendEmail']);

function decide(next: ReturnType<typeof transition<typeof subscriptionMachine>>[0], actions: ReadonlyArray<{ type: string; params?: unknown }>): Decision {
  return {
    legal: true,
    snapshot: subscriptionMachine.getPersistedSnapshot(next),
    state: JSON.stringify(next.value),
    effects: actions.filter((a) => customActions.has(a.type)).map((a) => ({ type: a.type, params: a.params ?? null })),
  };
}

/** The initial snapshot of a subscription created with `input`. */
export function evaluateCreate(input: SubscriptionInput): Decision {
  const [next, actions] = initialTransition(subscriptionMachine, input);
  return decide(next, actions);
}

/** `event` against the persisted snapshot `persisted`; `legal: false` when the state has no transition for it. */
export function evaluateEvent(persisted: unknown, event: { type: string; [k: string]: unknown }): Decision {
  const snapshot = subscriptionMachine.resolveState(persisted as Parameters<typeof subscriptionMachine.resolveState>[0]);
  const typed = event as EventFrom<typeof subscriptionMachine>;
  if (!snapshot.can(typed)) return { legal: false, snapshot: persisted, state: JSON.stringify(snapshot.value), effects: [] };
  const [next, actions] = transition(subscriptionMachine, snapshot, typed);
  return decide(next, actions);
}
