import {
  __unsafe_getAllOwnEventDescriptors,
  initialTransition,
  transition,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type EventObject,
} from 'xstate';

/** A custom action as the outbox stores it. */
export interface ExpectedEffect {
  readonly type: string;
  readonly params: unknown;
}

/** A delayed event XState scheduled (`xstate.raise` with a delay). */
export interface ExpectedTimer {
  readonly sendId: string;
  readonly eventType: string;
  readonly delayMs: number;
}

/** What XState's pure functions say one event does. */
export interface OracleStep {
  readonly accepted: boolean;
  /** For a refused event: illegal (no transition at all), guard-rejected, or the machine threw evaluating it. */
  readonly refusal?: 'TG_ILLEGAL_TRANSITION' | 'TG_GUARD_REJECTED' | 'TG_MACHINE_FAULT';
  readonly snapshot: AnyMachineSnapshot;
  readonly effects: readonly ExpectedEffect[];
  readonly timers: readonly ExpectedTimer[];
  /** sendIds XState cancelled (`xstate.cancel`). */
  readonly cancels: readonly string[];
}

interface ActionLike {
  readonly type: string;
  readonly params?: unknown;
}

/** The initial state for `input`, as `create` must persist it. */
export function oracleInitial(machine: AnyStateMachine, input: unknown): OracleStep {
  const [snapshot, actions] = initialTransition(machine, input);
  return { accepted: true, snapshot, ...split(actions as readonly ActionLike[]) };
}

/**
 * XState's answer for `event` in `snapshot`. Legality is decided here from XState alone (its event descriptors
 * and `can()`), never from the runtime's helpers, so a runtime bug cannot agree with itself. A guard, assign or
 * output that throws makes XState's evaluation throw: the runtime must refuse that event as `TG_MACHINE_FAULT`.
 */
export function oracleStep(machine: AnyStateMachine, snapshot: AnyMachineSnapshot, event: EventObject): OracleStep {
  const refused = (refusal: NonNullable<OracleStep['refusal']>): OracleStep => ({ accepted: false, refusal, snapshot, effects: [], timers: [], cancels: [] });
  if (!handles(snapshot, event.type)) return refused('TG_ILLEGAL_TRANSITION');
  try {
    if (!snapshot.can(event)) return refused('TG_GUARD_REJECTED');
    const [next, actions] = transition(machine, snapshot, event);
    return { accepted: true, snapshot: next, ...split(actions as readonly ActionLike[]) };
  } catch {
    return refused('TG_MACHINE_FAULT');
  }
}

/**
 * Whether the active state configuration has any transition (guarded or not) for `type`: a descriptor equal to
 * it, `'*'`, or a partial wildcard (`'order.*'`) that matches it.
 */
export function handles(snapshot: AnyMachineSnapshot, type: string): boolean {
  return snapshot.status === 'active' && __unsafe_getAllOwnEventDescriptors(snapshot).some((descriptor) => descriptorMatches(descriptor, type));
}

/**
 * Whether an event type matches a transition's event descriptor, as XState v5's own (unexported)
 * `matchesEventDescriptor` decides: the same type; `'*'`, every type; `'a.b.*'`, every type whose dot-separated
 * tokens begin with `a`, `b` (`'a.b'` included). Written here from XState's rules rather than imported from the
 * engine (engine/accepted-events.ts), so that a runtime bug in matching cannot agree with itself.
 */
export function descriptorMatches(descriptor: string, type: string): boolean {
  if (descriptor === type || descriptor === '*') return true;
  if (!descriptor.endsWith('.*')) return false;
  const prefix = descriptor.slice(0, -2).split('.');
  const tokens = type.split('.');
  return prefix.every((token, i) => token === tokens[i]);
}

/** The custom actions of an action list: what must reach the outbox, in order. */
export function customActions(actions: readonly ActionLike[]): ExpectedEffect[] {
  return actions.filter((a) => !a.type.startsWith('xstate.')).map((a) => ({ type: a.type, params: storedParams(a.params) }));
}

/**
 * Params as they come back from the database: JSON (undefined fields vanish), an absent params object is `{}`
 * and a non-object is wrapped as `{ value }` (tollgate's documented effect-params contract).
 */
export function storedParams(params: unknown): unknown {
  if (params === undefined || params === null) return {};
  const json: unknown = JSON.parse(JSON.stringify(params));
  return typeof json === 'object' && json !== null && !Array.isArray(json) ? json : { value: json };
}

function split(actions: readonly ActionLike[]): Pick<OracleStep, 'effects' | 'timers' | 'cancels'> {
  const timers: ExpectedTimer[] = [];
  const cancels: string[] = [];
  for (const action of actions) {
    if (action.type === 'xstate.raise') {
      const p = action.params as { event: EventObject; id?: string; delay?: number };
      if (p.delay !== undefined) timers.push({ sendId: p.id ?? `xstate.raise.${p.event.type}`, eventType: p.event.type, delayMs: p.delay });
    } else if (action.type === 'xstate.cancel') {
      const { sendId } = action.params as { sendId: string };
      const i = timers.findIndex((t) => t.sendId === sendId);
      if (i >= 0) timers.splice(i, 1);
      else cancels.push(sendId);
    }
  }
  return { effects: customActions(actions), timers, cancels };
}

/** JSON form of a context, as it comes back from jsonb. */
export function jsonOf(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}
