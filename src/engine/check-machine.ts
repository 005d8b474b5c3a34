import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { TollgateError } from '../errors.ts';
import { isWildcard, matchesDescriptor } from './accepted-events.ts';
import type { AnyMachineDefinition } from './definition.ts';
import { isStorableDelay, MAX_TIMER_DELAY_MS } from './timer-delay.ts';

/** The rule a registry name follows (it appears in URLs, metric labels and database rows). */
export const machineNamePattern = /^[a-z][a-z0-9_-]{0,62}$/;
export const machineNameRule = "1 to 63 characters: a lower-case letter, then lower-case letters, digits, '-' or '_'";

// Built-in actions that need a running actor (children, parents, emitted events). A persisted entity exists only
// between events, so these have nowhere to go.
const actorOnlyActions: Readonly<Record<string, string>> = {
  'xstate.sendTo': 'declare a custom action (an effect) whose worker sends the event to the other entity',
  'xstate.sendParent': 'declare a custom action (an effect) whose worker sends the event to the parent entity',
  'xstate.spawnChild': 'model the child as its own entity and create it from an effect',
  'xstate.stopChild': 'model the child as its own entity and send it an event from an effect',
  'xstate.emit': 'declare a custom action (an effect) that publishes the event',
};

// Built-in actions the engine carries out exactly as an actor would: assign (in the snapshot), raise (immediate:
// in the macrostep; delayed: a durable timer), cancel (of such a timer), log (nothing to persist) and
// enqueueActions (whose run-time actions evaluate.ts checks again).
const supportedBuiltIns = new Set(['xstate.assign', 'xstate.raise', 'xstate.cancel', 'xstate.log', 'xstate.enqueueActions']);

/**
 * Refuses, at registration, a machine tollgate cannot make durable exactly as XState would run it, with a message
 * that names the state and says what to write instead: `invoke`, child actors, `sendTo`/`sendParent`/`emit`,
 * inline function actions and undeclared named actions (which would become effects no handler picks up), a
 * registry name that breaks the naming rule or differs from the machine's `id`, an event the machine handles that
 * has no payload schema in `events`, a wildcard in the middle of a descriptor (XState never matches it) and a
 * compensation naming an event the machine has no transition for. Actions built at run time by `enqueueActions`
 * are checked again when a transition produces them (evaluate.ts).
 */
export function checkMachine(name: string, definition: AnyMachineDefinition): void {
  const { machine, version } = definition;
  if (!machineNamePattern.test(name)) {
    throw unsupported(name, `registry names are ${machineNameRule}; rename the key in the machines registry (and the machine's id)`);
  }
  if (!Number.isInteger(version) || version < 1) {
    throw unsupported(name, `its version must be an integer >= 1, got ${String(version)}`);
  }
  if (typeof (machine as Partial<AnyStateMachine> | undefined)?.transition !== 'function' || !machine.root) {
    throw unsupported(name, 'it is not an XState v5 machine: build it with setup(...).createMachine(...)');
  }
  if (machine.id !== name) {
    throw unsupported(
      name,
      `its XState id is '${machine.id}'. Snapshots, timer events and state ids carry the id: register it as ` +
        `'${machine.id}', or give it id: '${name}' in createMachine`,
    );
  }
  const descriptors = new Set<string>();
  visit(name, machine, machine.root, definition, descriptors);
  checkCompensations(name, definition, descriptors);
  checkShadow(name, definition);
}

function visit(name: string, machine: AnyStateMachine, node: AnyStateNode, definition: AnyMachineDefinition, descriptors: Set<string>): void {
  checkStaticDelays(name, node, machine.implementations.delays);
  if (node.invoke.length > 0) {
    throw unsupported(
      name,
      `state '${node.id}' invokes '${String(node.invoke[0]?.src)}'. Invoked actors live only in memory: model the ` +
        `work as a custom action (an effect run by a worker) whose handler returns the follow-up event`,
    );
  }
  const lists: Array<[string, readonly unknown[]]> = [
    ['entry', node.entry],
    ['exit', node.exit],
  ];
  for (const [eventType, transitions] of node.transitions) {
    for (const t of transitions) lists.push([`on '${eventType}'`, t.actions]);
  }
  for (const t of node.always ?? []) lists.push(['always', t.actions]);
  for (const [where, actions] of lists) {
    for (const action of actions) checkAction(name, machine, node, where, action);
  }
  for (const descriptor of node.ownEvents) {
    descriptors.add(descriptor);
    checkDescriptor(name, node, descriptor, definition);
  }
  for (const child of Object.values(node.states)) visit(name, machine, child, definition, descriptors);
}

/** A static `after` delay (a number, or a named delay that is a number) must be storable as a timer's due time. */
function checkStaticDelays(name: string, node: AnyStateNode, delays: Readonly<Record<string, unknown>>): void {
  for (const delayed of node.after) {
    const named = typeof delayed.delay === 'string' ? delays[delayed.delay] : delayed.delay;
    // A delay function is judged per transition, in the engine, with the entity's context.
    if (typeof named === 'function' || named === undefined || isStorableDelay(named)) continue;
    throw new TollgateError(
      'TG_TIMER_DELAY_OUT_OF_RANGE',
      `Machine '${name}' cannot be registered: state '${node.id}' has the 'after' delay ${String(delayed.delay)} of ` +
        `${String(named)} ms; a timer delay must be a number of milliseconds from 0 to ${MAX_TIMER_DELAY_MS}.`,
      { machine: name, state: node.id, timer: delayed.eventType },
    );
  }
}

function checkAction(name: string, machine: AnyStateMachine, node: AnyStateNode, where: string, action: unknown): void {
  const at = `state '${node.id}' (${where})`;
  if (typeof action === 'function') {
    const type = (action as { type?: unknown }).type;
    if (typeof type === 'string') {
      checkBuiltIn(name, at, type);
      return;
    }
    const named = action.name && action.name !== 'actions' && action.name !== 'entry' && action.name !== 'exit' ? ` '${action.name}'` : '';
    throw unsupported(
      name,
      `${at} has an inline function action${named}. tollgate never runs code inside a transition, so it would never ` +
        `run: declare it in setup({ actions: { myAction: ... } }) and write 'myAction' (or { type: 'myAction', params }); ` +
        `it then runs once, as an effect, in a worker`,
    );
  }
  const type = typeof action === 'string' ? action : (action as { type?: unknown } | null)?.type;
  if (typeof type !== 'string') return;
  const implementations = (machine.implementations.actions ?? {}) as Record<string, unknown>;
  if (!Object.hasOwn(implementations, type)) {
    throw unsupported(
      name,
      `${at} uses the action '${type}', which is not declared in setup({ actions }). Declare it there (an effect ` +
        `type: its implementation is never called by tollgate, a worker's handler runs it)`,
    );
  }
  const implementation = implementations[type] as { type?: unknown } | undefined;
  if (typeof implementation?.type === 'string') checkBuiltIn(name, `${at}, through the named action '${type}'`, implementation.type);
}

function checkBuiltIn(name: string, at: string, type: string): void {
  if (supportedBuiltIns.has(type)) return;
  const instead = actorOnlyActions[type] ?? 'declare a custom action in setup({ actions }) and run the work as an effect';
  throw unsupported(name, `${at} uses ${type}; ${instead}`);
}

function checkDescriptor(name: string, node: AnyStateNode, descriptor: string, definition: AnyMachineDefinition): void {
  if (descriptor.startsWith('xstate.')) return;
  if (descriptor.includes('*') && !isWildcard(descriptor)) {
    throw unsupported(
      name,
      `state '${node.id}' handles '${descriptor}': XState matches a wildcard only as the whole descriptor ('*') or its ` +
        `last token ('order.*'), so this transition would never be taken. Write '*' or a 'prefix.*' descriptor`,
    );
  }
  if (isWildcard(descriptor) || Object.hasOwn(definition.events, descriptor)) return;
  throw unsupported(
    name,
    `state '${node.id}' handles '${descriptor}', which has no payload schema in events. Add ` +
      `${JSON.stringify(descriptor)}: z.strictObject({ ... }) to the definition's events (z.strictObject({}) for no payload)`,
  );
}

function checkCompensations(name: string, definition: AnyMachineDefinition, descriptors: ReadonlySet<string>): void {
  for (const [effect, event] of Object.entries(definition.compensations ?? {})) {
    if (![...descriptors].some((descriptor) => matchesDescriptor(event, descriptor))) {
      throw unsupported(
        name,
        `the compensation of '${effect}' is '${event}', but no state of the machine has a transition for it, so every ` +
          `compensation would be refused. Name an event the machine handles (in the states where '${effect}' can fail)`,
      );
    }
    const schema = Object.hasOwn(definition.events, event) ? definition.events[event] : undefined;
    if (!schema?.safeParse({}).success) {
      throw unsupported(
        name,
        `the compensation of '${effect}' is '${event}', which ${schema ? 'needs a payload' : 'has no schema in events'}; ` +
          `tollgate sends it as { type: '${event}' } alone: declare ${JSON.stringify(event)}: z.strictObject({}) (or make its fields optional)`,
      );
    }
  }
}

function checkShadow(name: string, definition: AnyMachineDefinition): void {
  if (definition.mode !== undefined && definition.mode !== 'shadow' && definition.mode !== 'enforce') {
    throw unsupported(name, `its mode is ${JSON.stringify(definition.mode)}: write 'shadow' or 'enforce' (the default)`);
  }
  const declared = Object.keys((definition.machine.implementations.actions ?? {}) as Record<string, unknown>);
  for (const effect of definition.shadow?.effects ?? []) {
    if (!declared.includes(effect)) {
      throw unsupported(name, `shadow.effects names '${effect}', which is not an action of setup({ actions }) (declared: ${declared.join(', ') || 'none'})`);
    }
  }
}

function unsupported(name: string, reason: string): TollgateError {
  return new TollgateError('TG_MACHINE_UNSUPPORTED', `Machine '${name}' cannot be registered: ${reason}.`, {
    machine: name,
  });
}
