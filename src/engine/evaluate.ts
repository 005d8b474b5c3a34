import { createActor, type AnyActorScope, type AnyMachineSnapshot, type AnyStateMachine, type EventObject } from 'xstate';
import { TollgateError } from '../errors.ts';
import { acceptedEventTypes } from './accepted-events.ts';
import type { Accepted, Decision, EffectIntent, TimerIntent } from './decision.ts';
import { stateToString } from './state-value.ts';
import { checkTimerDelay } from './timer-delay.ts';

/** Names the machine in refusal messages. */
export interface EvaluationTarget {
  readonly machine: string;
  readonly entityId: string;
}

interface ActionLike {
  readonly type: string;
  readonly params?: unknown;
}

// Built-in actions whose meaning lives in a running actor; a persisted entity has no such actor to run them.
const ignoredBuiltIns = new Set(['xstate.log']);

/**
 * Evaluates `event` against `snapshot` with XState's pure `transition()`: nothing runs, nothing is written.
 * Illegal (no transition for the event in the active states) and guard-rejected events are refused; an accepted
 * event yields the next snapshot plus the effects, timers and timer cancellations to commit.
 *
 * @example
 * const decision = evaluate(machine, snapshot, { type: 'CANCEL' }, { machine: 'subscription', entityId: 's1' });
 * if (decision.kind === 'accepted') console.log(decision.state, decision.effects);
 */
export function evaluate(
  machine: AnyStateMachine,
  snapshot: AnyMachineSnapshot,
  event: EventObject,
  target: EvaluationTarget,
): Decision {
  const accepted = acceptedEventTypes(snapshot);
  if (!accepted.includes(event.type)) {
    return { kind: 'refused', code: 'TG_ILLEGAL_TRANSITION', state: stateToString(snapshot.value), accepted };
  }
  if (!snapshot.can(event)) {
    return { kind: 'refused', code: 'TG_GUARD_REJECTED', state: stateToString(snapshot.value), accepted };
  }
  const [next, actions] = pureTransition(machine, snapshot, event);
  return accept(machine, next, actions as readonly ActionLike[], target, stateToString(snapshot.value), event.type);
}

/** Evaluates the machine's initial state for `input`: what `create` commits. */
export function evaluateInitial(machine: AnyStateMachine, input: unknown, target: EvaluationTarget): Accepted {
  const [snapshot, actions] = pureTransition(machine, undefined, input);
  return accept(machine, snapshot, actions as readonly ActionLike[], target, null, 'xstate.init');
}

interface InertScope {
  readonly scope: AnyActorScope;
  collected: ActionLike[];
}

// One inert actor scope per machine, reused. XState's exported transition() builds a throw-away actor per call, which
// runs the machine's context factory and initial state again each time (most of its cost); the scope is only read
// for `self` and to collect the actions, which evaluate() never executes. Safe to share: transitions are synchronous.
const scopes = new WeakMap<AnyStateMachine, InertScope>();

function inertScope(machine: AnyStateMachine): InertScope {
  let inert = scopes.get(machine);
  if (!inert) {
    const self = createActor(machine);
    const holder: InertScope = {
      collected: [],
      scope: {
        self,
        id: '',
        sessionId: '',
        system: self.system,
        defer: () => {},
        logger: () => {},
        stopChild: () => {},
        emit: () => {},
        actionExecutor: (action: ActionLike) => holder.collected.push(action),
      } as unknown as AnyActorScope,
    };
    inert = holder;
    scopes.set(machine, inert);
  }
  return inert;
}

/** XState's pure transition (or, without a snapshot, initial transition): the next snapshot and the actions, none run. */
function pureTransition(machine: AnyStateMachine, snapshot: AnyMachineSnapshot | undefined, eventOrInput: unknown): [AnyMachineSnapshot, ActionLike[]] {
  const inert = inertScope(machine);
  const collected: ActionLike[] = [];
  inert.collected = collected;
  const next = snapshot
    ? (machine.transition(snapshot, eventOrInput as EventObject, inert.scope) as AnyMachineSnapshot)
    : (machine.getInitialSnapshot(inert.scope, eventOrInput) as AnyMachineSnapshot);
  return [next, collected];
}

function accept(
  machine: AnyStateMachine,
  next: AnyMachineSnapshot,
  actions: readonly ActionLike[],
  target: EvaluationTarget,
  fromState: string | null,
  eventType: string,
): Accepted {
  if (next.status === 'error') {
    throw new TollgateError(
      'TG_MACHINE_UNSUPPORTED',
      `Machine '${target.machine}' threw while evaluating '${eventType}' for ${target.machine}/${target.entityId} ` +
        `in state '${fromState ?? '(initial)'}': ${String(next.error)}. Guards, assign and params functions must not throw.`,
      { machine: target.machine, entityId: target.entityId, state: fromState ?? undefined, event: eventType },
    );
  }
  const effects: EffectIntent[] = [];
  const timers: TimerIntent[] = [];
  const cancels: string[] = [];
  for (const action of actions) {
    if (!action.type.startsWith('xstate.')) {
      effects.push({ index: effects.length, type: action.type, params: toParams(action.params) });
      continue;
    }
    if (action.type === 'xstate.raise') {
      const params = action.params as { event: EventObject; id?: string; delay?: number };
      // An immediate raise was already processed inside the macrostep; only delayed ones outlive it.
      if (params.delay === undefined) continue;
      const sendId = params.id ?? `xstate.raise.${params.event.type}`;
      const source = { machine: target.machine, entityId: target.entityId, state: fromState ?? '(initial)', event: eventType, timer: sendId };
      timers.push({ index: timers.length, sendId, event: params.event, delayMs: checkTimerDelay(params.delay, source) });
      continue;
    }
    if (action.type === 'xstate.cancel') {
      const { sendId } = action.params as { sendId: string };
      // A timer raised and cancelled within the same macrostep never reaches the database.
      const pending = timers.findIndex((timer) => timer.sendId === sendId);
      if (pending >= 0) timers.splice(pending, 1);
      else cancels.push(sendId);
      continue;
    }
    if (ignoredBuiltIns.has(action.type)) continue;
    throw new TollgateError(
      'TG_MACHINE_UNSUPPORTED',
      `Machine '${target.machine}' produced the action '${action.type}' on '${eventType}' from state ` +
        `'${fromState ?? '(initial)'}'. tollgate persists entities between events, so there is no running actor to ` +
        `deliver it: declare a custom action in setup({ actions }) and tollgate will run it as an effect.`,
      { machine: target.machine, entityId: target.entityId, state: fromState ?? undefined, event: eventType },
    );
  }
  return {
    kind: 'accepted',
    snapshot: next,
    persisted: machine.getPersistedSnapshot(next),
    value: next.value,
    state: stateToString(next.value),
    effects,
    timers: timers.map((timer, index) => ({ ...timer, index })),
    cancels,
  };
}

function toParams(params: unknown): Readonly<Record<string, unknown>> {
  if (params === undefined || params === null) return {};
  if (typeof params === 'object' && !Array.isArray(params)) return params as Record<string, unknown>;
  return { value: params };
}
