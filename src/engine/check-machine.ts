import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { TollgateError } from '../errors.ts';
import type { AnyMachineDefinition } from './definition.ts';
import { isStorableDelay, MAX_TIMER_DELAY_MS } from './timer-delay.ts';

// Built-in actions that need a running actor (children, parents, emitted events). A persisted entity exists only
// between events, so these have nowhere to go.
const actorOnlyActions: Readonly<Record<string, string>> = {
  'xstate.sendTo': 'declare a custom action (an effect) whose worker sends the event to the other entity',
  'xstate.sendParent': 'declare a custom action (an effect) whose worker sends the event to the parent entity',
  'xstate.spawnChild': 'model the child as its own entity and create it from an effect',
  'xstate.stopChild': 'model the child as its own entity and send it an event from an effect',
  'xstate.emit': 'declare a custom action (an effect) that publishes the event',
};

/**
 * Refuses, at registration, machines that use features a persisted entity cannot honour (`invoke`, child actors,
 * `sendTo`, `emit`), naming the state and saying what to do instead. Actions built at run time by
 * `enqueueActions` are checked again when a transition produces them (see evaluate.ts).
 */
export function checkMachine(name: string, definition: AnyMachineDefinition): void {
  const { machine, version } = definition;
  if (!Number.isInteger(version) || version < 1) {
    throw unsupported(name, `its version must be an integer >= 1, got ${String(version)}`);
  }
  if (typeof (machine as Partial<AnyStateMachine>).transition !== 'function' || !machine.root) {
    throw unsupported(name, 'it is not an XState v5 machine: build it with setup(...).createMachine(...)');
  }
  visit(name, machine.root, machine.implementations.delays);
}

function visit(name: string, node: AnyStateNode, delays: Readonly<Record<string, unknown>>): void {
  if (node.invoke.length > 0) {
    throw unsupported(
      name,
      `state '${node.id}' invokes '${String(node.invoke[0]?.src)}'. Invoked actors live only in memory: model the ` +
        `work as a custom action (an effect run by a worker) whose handler returns the follow-up event`,
    );
  }
  checkStaticDelays(name, node, delays);
  const lists: Array<[string, readonly unknown[]]> = [
    ['entry', node.entry],
    ['exit', node.exit],
  ];
  for (const [eventType, transitions] of node.transitions) {
    for (const t of transitions) lists.push([`on '${eventType}'`, t.actions]);
  }
  for (const t of node.always ?? []) lists.push(['always', t.actions]);
  for (const [where, actions] of lists) {
    for (const action of actions) {
      const type = builtInType(action);
      const instead = type ? actorOnlyActions[type] : undefined;
      if (type && instead) {
        throw unsupported(name, `state '${node.id}' uses ${type} (${where}); ${instead}`);
      }
    }
  }
  for (const child of Object.values(node.states)) visit(name, child, delays);
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

function builtInType(action: unknown): string | undefined {
  if (typeof action !== 'function') return undefined;
  const type = (action as { type?: unknown }).type;
  return typeof type === 'string' ? type : undefined;
}

function unsupported(name: string, reason: string): TollgateError {
  return new TollgateError('TG_MACHINE_UNSUPPORTED', `Machine '${name}' cannot be registered: ${reason}.`, {
    machine: name,
  });
}
