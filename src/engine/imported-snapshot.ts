import type { AnyActorScope, AnyMachineSnapshot, AnyStateMachine, AnyStateNode, Snapshot, StateValue } from 'xstate';
import { TollgateError, entityRef } from '../errors.ts';
import { afterTimersOf, unresolvedAfterTimers, type AfterTimer } from './after-timers.ts';
import type { AnyMachineDefinition, PersistedSnapshot } from './definition.ts';
import { migrateSnapshot, restoresExactly } from './migrate-snapshot.ts';
import { stateLeafPaths, stateToString } from './state-value.ts';
import { checkTimerDelay } from './timer-delay.ts';
import { firstIssue } from '../zod-issue.ts';

/** An entity as another system holds it: where it is and what it knows. */
export interface ImportedEntity {
  readonly machine: string;
  readonly id: string;
  /**
   * The state: a dotted path (`paused.idle`), leaf paths joined by `,` as tollgate stores them
   * (`paid.invoicing.draft,paid.shipment.awaiting`), or an XState state value (`{ paid: { shipment: 'awaiting', ... } }`).
   */
  readonly state: string | StateValue;
  readonly context: unknown;
  /** The machine version the state and context are written for; older ones pass through the definition's migrations. */
  readonly machineVersion: number;
}

/** An imported entity made into what the gate stores. */
export interface ImportedSnapshot {
  /** What is stored (the gate's persisted form). */
  readonly persisted: unknown;
  /** Leaf paths, as `entities.state` holds them. */
  readonly state: string;
  /** The `after` timers of the states it is in, delays resolved for its context. */
  readonly timers: readonly AfterTimer[];
}

/**
 * Builds, from a state and a context another system holds, the snapshot the gate would have stored had the entity
 * lived here, and checks it is one the machine can go on from: every state path exists and is a leaf (a compound
 * state named without its child would be restored in its initial child, silently); the context fits the
 * definition's `context` schema when it declares one; the snapshot restores exactly; no eventless transition or
 * completed parallel state would have left it already; every `after` timer of its states has a delay its context
 * resolves. Pure. Refusals: TG_IMPORT_INVALID_STATE, TG_IMPORT_INVALID_CONTEXT, TG_MIGRATION_FAILED (an older
 * version's migration), TG_TIMER_DELAY_OUT_OF_RANGE.
 *
 * @example
 * const made = importedSnapshot(definitions.subscription, { machine: 'subscription', id: 's1', state: 'grace', context, machineVersion: 1 });
 */
export function importedSnapshot(definition: AnyMachineDefinition, entity: ImportedEntity): ImportedSnapshot {
  const machine = definition.machine;
  const ref = entityRef(entity.machine, entity.id);
  const invalidState = (reason: string) =>
    new TollgateError('TG_IMPORT_INVALID_STATE', `Cannot import ${ref}: ${reason}.`, { machine: entity.machine, entityId: entity.id, reason });
  let value = toStateValue(entity.state);
  if (value === undefined) throw invalidState(`its state ${JSON.stringify(entity.state)} is neither a dotted path nor a state value`);
  if (typeof entity.context !== 'object' || entity.context === null || Array.isArray(entity.context)) {
    throw invalidContext(entity, 'the context is not a JSON object');
  }
  let context = entity.context as Record<string, unknown>;
  if (entity.machineVersion < definition.version) {
    // Written for an older version: its migrations carry it (they may rename states), then it is checked as new.
    const raw: PersistedSnapshot = { status: 'active', value, context, historyValue: {}, children: {} };
    const migrated = migrateSnapshot(definition, raw, { machine: entity.machine, entityId: entity.id, machineVersion: entity.machineVersion }).persisted as PersistedSnapshot;
    value = migrated.value;
    context = migrated.context;
  }
  if (definition.context) {
    const parsed = definition.context.safeParse(context);
    if (!parsed.success) {
      const { field, message } = firstIssue(parsed.error, '(context)');
      throw invalidContext(entity, `'${field}' ${message}`);
    }
    context = parsed.data as Record<string, unknown>;
  }
  const shape = restingShape(definition, value, invalidState);
  // Delays read the context: resolved per entity, against the restored shape with this entity's context.
  const snapshot = { ...shape.snapshot, context } as AnyMachineSnapshot;
  const unresolved = unresolvedAfterTimers(machine, snapshot);
  if (unresolved.length > 0) {
    throw invalidContext(entity, `the delay of timer '${unresolved[0]}' does not resolve to a number for this context (a field its delay reads is missing)`);
  }
  const timers = afterTimersOf(machine, snapshot);
  for (const timer of timers) checkTimerDelay(timer.delayMs, { machine: entity.machine, entityId: entity.id, state: shape.state, timer: timer.sendId });
  return { persisted: { ...shape.persisted, context }, state: shape.state, timers };
}

/** What a state value restores to, whatever the context: checked once per machine and state value. */
interface RestingShape {
  readonly snapshot: AnyMachineSnapshot;
  readonly persisted: Record<string, unknown>;
  readonly state: string;
}

// Restoring a snapshot (XState resolves the state node set) was most of an import's cost per entity (measured,
// bench/import.ts); its outcome depends on the state value alone, so it is checked once per value and machine.
const shapes = new WeakMap<AnyStateMachine, Map<string, RestingShape>>();

/**
 * The state string (`entities.state`) of a state another system names, checked as `importedSnapshot` checks it
 * (exists, a leaf, one the entity can rest in) without a context: TG_IMPORT_INVALID_STATE names what is wrong.
 */
export function restingStateOf(definition: AnyMachineDefinition, machine: string, id: string, state: unknown): string {
  const invalidState = (reason: string) =>
    new TollgateError('TG_IMPORT_INVALID_STATE', `Cannot place ${entityRef(machine, id)}: ${reason}.`, { machine, entityId: id, reason });
  const value = toStateValue(state);
  if (value === undefined) throw invalidState(`its state ${JSON.stringify(state)} is neither a dotted path nor a state value`);
  return restingShape(definition, value, invalidState).state;
}

function restingShape(definition: AnyMachineDefinition, value: StateValue, invalidState: (reason: string) => TollgateError): RestingShape {
  const machine = definition.machine;
  let known = shapes.get(machine);
  if (!known) shapes.set(machine, (known = new Map()));
  const key = JSON.stringify(value);
  const cached = known.get(key);
  if (cached) return cached;
  for (const path of stateLeafPaths(value)) {
    const problem = pathProblem(machine.root, path);
    if (problem) throw invalidState(problem);
  }
  const topKey = typeof value === 'string' ? value : Object.keys(value)[0];
  const done = topKey !== undefined && machine.root.states[topKey]?.type === 'final';
  let snapshot: AnyMachineSnapshot;
  const persistedIn = { status: done ? 'done' : 'active', value, context: {}, historyValue: {}, children: {} };
  try {
    snapshot = machine.restoreSnapshot(persistedIn as unknown as Snapshot<unknown>, undefined as unknown as AnyActorScope) as AnyMachineSnapshot;
  } catch (cause) {
    throw invalidState(`the snapshot does not restore: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  if (!restoresExactly(snapshot, persistedIn)) {
    throw invalidState(`state '${stateToString(value)}' restores as '${stateToString(snapshot.value)}': name the leaf state (a compound state has a child)`);
  }
  const resting = restingProblem(snapshot);
  if (resting) throw invalidState(resting);
  const shape = { snapshot, persisted: machine.getPersistedSnapshot(snapshot) as Record<string, unknown>, state: stateToString(snapshot.value) };
  if (known.size < 10_000) known.set(key, shape);
  return shape;
}

/** A state as a line may give it, as an XState state value; undefined when it is not one. */
export function toStateValue(state: unknown): StateValue | undefined {
  if (typeof state === 'string') {
    const paths = state.split(',').map((p) => p.trim());
    if (paths.some((p) => p === '' || p.split('.').some((k) => k === ''))) return undefined;
    if (paths.length === 1 && !paths[0]!.includes('.')) return paths[0]!;
    const value: Record<string, unknown> = {};
    for (const path of paths) {
      const keys = path.split('.');
      let node = value;
      for (const [i, key] of keys.entries()) {
        if (i === keys.length - 1) {
          if (node[key] !== undefined) return undefined;
          node[key] = {};
        } else {
          const next = node[key];
          if (next !== undefined && (typeof next !== 'object' || next === null)) return undefined;
          node = (node[key] ??= {}) as Record<string, unknown>;
        }
      }
    }
    return collapse(value) as StateValue;
  }
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return undefined;
  const ok = (v: unknown): boolean =>
    typeof v === 'string' || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((c) => c === undefined || ok(c)));
  return ok(state) ? (state as StateValue) : undefined;
}

// { paused: { idle: {} } } -> { paused: 'idle' }: a node with one leaf child names it as a string, as XState writes it.
function collapse(node: Record<string, unknown>): unknown {
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(node)) {
    const c = child as Record<string, unknown>;
    const keys = Object.keys(c);
    if (keys.length === 1 && Object.keys(c[keys[0]!] as object).length === 0) out[key] = keys[0];
    else out[key] = collapse(c);
  }
  return out;
}

function pathProblem(root: AnyStateNode, path: string): string | undefined {
  let node = root;
  for (const key of path.split('.')) {
    const child: AnyStateNode | undefined = Object.hasOwn(node.states, key) ? node.states[key] : undefined;
    if (!child) {
      const known = Object.keys(node.states);
      return `state '${path}' does not exist: '${node === root ? '(root)' : node.path.join('.')}' has ${known.length ? known.map((k) => `'${k}'`).join(', ') : 'no child states'}`;
    }
    node = child;
  }
  if (node.type === 'history') return `state '${path}' is a history pseudo-state, not a state an entity can be in`;
  return undefined;
}

// A state the machine would already have left without an event: importing an entity there would leave it stuck.
function restingProblem(snapshot: AnyMachineSnapshot): string | undefined {
  const nodes = (snapshot as unknown as { _nodes: AnyStateNode[] })._nodes;
  for (const node of nodes) {
    if (node.always && node.always.length > 0) return `state '${node.path.join('.')}' has an eventless (always) transition: the entity would not rest there`;
    if (node.type === 'parallel' && node.path.length > 0) {
      const regions = Object.values(node.states);
      const finished = regions.every((region) => nodes.some((n) => n.parent === region && n.type === 'final'));
      if (regions.length > 0 && finished) return `every region of parallel state '${node.path.join('.')}' is final: it would already be done`;
    }
  }
  return undefined;
}

function invalidContext(entity: ImportedEntity, reason: string): TollgateError {
  return new TollgateError('TG_IMPORT_INVALID_CONTEXT', `Cannot import ${entityRef(entity.machine, entity.id)}: ${reason}.`, {
    machine: entity.machine,
    entityId: entity.id,
    reason,
  });
}
