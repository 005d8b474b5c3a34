import { createActor, type AnyActorScope, type AnyMachineSnapshot, type AnyStateMachine, type EventObject } from 'xstate';
import { TollgateError, entityRef } from '../errors.ts';
import { acceptedEventTypes, matchesDescriptor } from './accepted-events.ts';
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
 * A machine defect met while evaluating: the machine threw, or produced at run time an action tollgate cannot
 * make durable (an `enqueueActions` callback can enqueue anything). Deterministic for (state, context, event).
 */
class MachineFault extends Error {
  override readonly name = 'MachineFault';
}

/**
 * Evaluates `event` against `snapshot` with XState's pure `transition()`: nothing runs, nothing is written.
 * Illegal (no transition for the event in the active states, wildcard descriptors matched as XState matches them)
 * and guard-rejected events are refused; so is an evaluation that throws (`TG_MACHINE_FAULT`, with the thrown
 * message as `reason`). An accepted event yields the next snapshot plus the effects, timers and timer
 * cancellations to commit.
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
  const state = stateToString(snapshot.value);
  const accepted = acceptedEventTypes(snapshot);
  if (!accepted.some((descriptor) => matchesDescriptor(event.type, descriptor))) {
    return { kind: 'refused', code: 'TG_ILLEGAL_TRANSITION', state, accepted };
  }
  try {
    // can() evaluates the guards (an exact descriptor's first, then the wildcards', as transition() does).
    if (!snapshot.can(event)) return { kind: 'refused', code: 'TG_GUARD_REJECTED', state, accepted };
    const [next, actions] = pureTransition(machine, snapshot, event);
    return accept(machine, next, actions, { ...target, state, event: event.type });
  } catch (error) {
    // tollgate's own refusals (a timer delay out of range) keep their code; anything the machine threw is a fault.
    if (error instanceof TollgateError) throw error;
    return { kind: 'refused', code: 'TG_MACHINE_FAULT', state, accepted, reason: faultReason(error) };
  }
}

/**
 * Evaluates the machine's initial state for `input`: what `create` commits. A machine that throws (its context
 * factory, an entry assign, an eventless guard) is `TG_MACHINE_FAULT`.
 */
export function evaluateInitial(machine: AnyStateMachine, input: unknown, target: EvaluationTarget): Accepted {
  try {
    const [snapshot, actions] = pureTransition(machine, undefined, input);
    return accept(machine, snapshot, actions, { ...target, state: '(initial)', event: 'xstate.init' });
  } catch (error) {
    if (error instanceof TollgateError) throw error;
    const reason = faultReason(error);
    throw new TollgateError(
      'TG_MACHINE_FAULT',
      `Machine '${target.machine}' threw while creating ${entityRef(target.machine, target.entityId)}: ${reason}. ` +
        'The same input throws again: fix the machine (context factories, guards, assign, output and params must not throw).',
      { machine: target.machine, entityId: target.entityId, event: 'xstate.init', reason },
    );
  }
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

function faultReason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 500);
}

/** Where an evaluation happens, for the messages of the timer-delay check. */
interface StepSource extends EvaluationTarget {
  readonly state: string;
  readonly event: string;
}

function accept(machine: AnyStateMachine, next: AnyMachineSnapshot, actions: readonly ActionLike[], source: StepSource): Accepted {
  if (next.status === 'error') throw new MachineFault(faultReason(next.error));
  const custom = (machine.implementations.actions ?? {}) as Record<string, unknown>;
  const effects: EffectIntent[] = [];
  const timers: TimerIntent[] = [];
  const cancels: string[] = [];
  for (const action of actions) {
    if (!action.type.startsWith('xstate.')) {
      // Only actions declared in setup({ actions }) are effects; an inline function enqueued by enqueueActions
      // would be one no handler ever picks up.
      if (!Object.hasOwn(custom, action.type)) {
        throw new MachineFault(
          `it produced the action '${action.type}', which is not declared in setup({ actions }) (an inline function ` +
            'action, e.g. enqueued by enqueueActions): declare it as a named custom action, run as an effect',
        );
      }
      effects.push({ index: effects.length, type: action.type, params: toParams(action.params) });
      continue;
    }
    if (action.type === 'xstate.raise') {
      const params = action.params as { event: EventObject; id?: string; delay?: number };
      // An immediate raise was already processed inside the macrostep; only delayed ones outlive it.
      if (params.delay === undefined) continue;
      const sendId = params.id ?? `xstate.raise.${params.event.type}`;
      const from = { machine: source.machine, entityId: source.entityId, state: source.state, event: source.event, timer: sendId };
      timers.push({ index: timers.length, sendId, event: params.event, delayMs: checkTimerDelay(params.delay, from) });
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
    throw new MachineFault(
      `it produced the action '${action.type}' (e.g. from enqueueActions). tollgate persists entities between ` +
        'events, so there is no running actor to deliver it: declare a custom action in setup({ actions }) and ' +
        'tollgate will run it as an effect',
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
