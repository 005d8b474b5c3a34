import type { AnyMachineSnapshot, AnyStateMachine, AnyStateNode, EventObject } from 'xstate';
import { stateLeafPaths } from './state-value.ts';

/** A delayed `after` transition of a state the snapshot is in: the timer entering that state arms. */
export interface AfterTimer {
  /** XState's id of the delayed event, `xstate.after.<delay>.<stateNodeId>` (also the event's type). */
  readonly sendId: string;
  readonly event: EventObject;
  /** The delay resolved for the snapshot's context. */
  readonly delayMs: number;
  /** The id of the state node that owns it (`subscription.grace`). */
  readonly stateNodeId: string;
}

/**
 * The `after` timers of every state the snapshot is in, with delays resolved against its context: what entering
 * those states would have armed under this machine. Used to re-derive the timers of a migrated entity. Delays given
 * as functions receive the context and a `$migrated` event; one that is not a number is skipped (XState would not
 * schedule it either).
 */
export function afterTimersOf(machine: AnyStateMachine, snapshot: AnyMachineSnapshot): AfterTimer[] {
  const timers = new Map<string, AfterTimer>();
  for (const node of activeNodes(machine, snapshot)) {
    for (const transition of node.after) {
      const sendId = transition.eventType;
      if (timers.has(sendId)) continue;
      const delayMs = resolveDelay(machine, snapshot, (transition as { delay?: unknown }).delay);
      if (delayMs === undefined) continue;
      timers.set(sendId, { sendId, event: { type: sendId }, delayMs, stateNodeId: node.id });
    }
  }
  return [...timers.values()];
}

/**
 * Whether the timer `sendId` belongs to a state node active in `state` (leaf paths as stored, `paused.idle`; parallel
 * leaves joined by `,`): true or false for an `after` timer, undefined for another delayed event (a `raise` with its
 * own id says nothing about its state). A scheduled `after` timer of a state the entity left is stale.
 */
export function afterTimerActive(machine: AnyStateMachine, state: string, sendId: string): boolean | undefined {
  if (!sendId.startsWith('xstate.after.')) return undefined;
  return nodesOnPaths(machine, state.split(',')).some((node) => node.after.some((t) => t.eventType === sendId));
}

function activeNodes(machine: AnyStateMachine, snapshot: AnyMachineSnapshot): AnyStateNode[] {
  return nodesOnPaths(machine, stateLeafPaths(snapshot.value));
}

function nodesOnPaths(machine: AnyStateMachine, paths: readonly string[]): AnyStateNode[] {
  const nodes = new Map<string, AnyStateNode>();
  for (const path of paths) {
    let node: AnyStateNode | undefined = machine.root;
    for (const key of path.split('.')) {
      node = node?.states[key];
      if (node) nodes.set(node.id, node);
    }
  }
  return [...nodes.values()];
}

function resolveDelay(machine: AnyStateMachine, snapshot: AnyMachineSnapshot, delay: unknown): number | undefined {
  if (typeof delay === 'number') return delay;
  if (typeof delay !== 'string') return undefined;
  const configured = (machine.implementations.delays as Record<string, unknown> | undefined)?.[delay];
  const resolved = typeof configured === 'function' ? (configured as (args: unknown) => unknown)({ context: snapshot.context, event: { type: '$migrated' } }) : configured;
  return typeof resolved === 'number' ? resolved : undefined;
}

/**
 * The `after` timers of the states the snapshot is in whose delay does not resolve to a number for its context (a
 * delay read from a context field that is missing): a state entered with such a context would never time out.
 */
export function unresolvedAfterTimers(machine: AnyStateMachine, snapshot: AnyMachineSnapshot): string[] {
  const unresolved = new Set<string>();
  for (const node of activeNodes(machine, snapshot)) {
    for (const transition of node.after) {
      if (resolveDelay(machine, snapshot, (transition as { delay?: unknown }).delay) === undefined) unresolved.add(transition.eventType);
    }
  }
  return [...unresolved];
}
