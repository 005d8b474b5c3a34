import { getAdjacencyMap, getShortestPaths, getSimplePaths, type StatePath } from '@xstate/graph';
import { __unsafe_getAllOwnEventDescriptors, transition, type AnyMachineSnapshot, type AnyStateMachine, type EventObject } from 'xstate';
import type { AnyMachineDefinition } from '../engine/definition.ts';
import { stateToString } from '../engine/state-value.ts';
import { descriptorMatches } from './oracle.ts';
import { sampleEvents, type EventSamples } from './samples.ts';

/** Which paths to generate. */
export type PathStrategy = 'shortest' | 'simple' | 'transitions';

/** One event of a generated path and the state XState says it leads to. */
export interface PathStep {
  readonly event: EventObject;
  /** Leaf paths of the state after the event (see engine/state-value.ts), e.g. `paused.idle`. */
  readonly state: string;
}

/** One generated path: a fresh entity is created, then each step is sent. */
export interface GeneratedPath {
  /** Unique within the suite, named after the steps: `UPGRADE → PAUSE → after(trialPeriod) ⇒ paused.idle`. */
  readonly name: string;
  /** Steps after the creation, in order. */
  readonly steps: readonly PathStep[];
  /** The serialized end state (serializeState of the last snapshot). */
  readonly endKey: string;
  /** True for the one path per reachable state value that also sends every event the state refuses. */
  readonly checksRefusals: boolean;
}

/** An accepted (state, event) edge of the machine's graph, in the terms of the history table. */
export interface ModelTransition {
  readonly from: string;
  readonly event: string;
  readonly to: string;
}

export interface TraversalSettings {
  readonly machineName: string;
  readonly definition: AnyMachineDefinition;
  readonly input: unknown;
  readonly events: EventSamples;
  readonly serializeState?: (snapshot: AnyMachineSnapshot) => string;
  readonly limit: number;
  readonly strategy: PathStrategy;
}

export interface Traversal {
  readonly paths: readonly GeneratedPath[];
  readonly transitions: readonly ModelTransition[];
  readonly reachableStates: readonly string[];
  /** What the walk decided on its own, for the report (the fallback to telling states apart by value). */
  readonly notes: readonly string[];
}

/** Default state identity, as @xstate/graph's: value plus context. Unbounded contexts need serializeState. */
function defaultSerialize(snapshot: AnyMachineSnapshot): string {
  return JSON.stringify({ value: snapshot.value, context: snapshot.context });
}

/** The fallback identity when value + context does not close: the state value alone. */
function byValue(snapshot: AnyMachineSnapshot): string {
  return JSON.stringify(snapshot.value);
}

/** Delayed events (`after`) are sent by the runtime's timers; every other internal event is not the caller's. */
export function isDelayedEvent(type: string): boolean {
  return type.startsWith('xstate.after.');
}

/**
 * Walks the machine with @xstate/graph and returns the paths, the accepted edges and the reachable states.
 * Edges are the events a caller may send (the definition's `events`) plus delayed `after` events; other internal
 * events XState lists (`xstate.done.state.*`) are left out: no one can send them to a tollgate entity.
 */
export function traverse(settings: TraversalSettings): Traversal {
  if (settings.serializeState) return walk(settings, settings.serializeState, []);
  try {
    return walk(settings, defaultSerialize, []);
  } catch (error) {
    if (!(error instanceof GraphDidNotClose)) throw error;
    // An unbounded context (a counter) makes value + context an endless graph: tell states apart by value instead,
    // and say so (paths then stand for every context of a state value).
    const note =
      `the state graph did not close within ${settings.limit} steps when states are told apart by value and context ` +
      `(the context grows without bound), so states are told apart by value alone; pass serializeState to choose.`;
    return walk(settings, byValue, [note]);
  }
}

/**
 * The event types to try in `snapshot`: its delayed events and the declared (`known`) types one of its descriptors
 * takes, exact first, then those only a wildcard (`'*'`, `'order.*'`) takes. The oracle asks XState directly, not the
 * runtime's wrapper (engine/accepted-events.ts) it is checking.
 */
function callerEventTypes(snapshot: AnyMachineSnapshot, known: ReadonlySet<string>): string[] {
  const descriptors = [...new Set(__unsafe_getAllOwnEventDescriptors(snapshot))];
  const exact = descriptors.filter((type) => known.has(type) || isDelayedEvent(type));
  const patterns = descriptors.filter((type) => !known.has(type) && !isDelayedEvent(type));
  const matched = [...known].filter((type) => !exact.includes(type) && patterns.some((pattern) => descriptorMatches(pattern, type)));
  return [...exact, ...matched];
}

function throwsOn(machine: AnyStateMachine, snapshot: AnyMachineSnapshot, event: EventObject): boolean {
  try {
    transition(machine, snapshot, event);
    return false;
  } catch {
    return true;
  }
}

class GraphDidNotClose extends Error {
  override readonly name = 'GraphDidNotClose';
}

function walk(settings: TraversalSettings, serialize: (snapshot: AnyMachineSnapshot) => string, notes: string[]): Traversal {
  const { machineName, definition, input, events, limit, strategy } = settings;
  const machine = definition.machine;
  const known = new Set(Object.keys(definition.events));
  const options = {
    input,
    limit,
    serializeState: (snapshot: AnyMachineSnapshot) => serialize(snapshot),
    events: (snapshot: AnyMachineSnapshot) =>
      callerEventTypes(snapshot, known)
        .flatMap((type) => (isDelayedEvent(type) ? [{ type }] : sampleEvents(machineName, definition, events, type, snapshot)))
        // An event the machine throws on is refused (TG_MACHINE_FAULT; a timer's is marked stale), never an edge.
        .filter((event) => !throwsOn(machine, snapshot, event)),
  };

  let adjacency: ReturnType<typeof getAdjacencyMap>;
  let shortest: Array<StatePath<AnyMachineSnapshot, EventObject>>;
  try {
    adjacency = getAdjacencyMap(machine, options as never);
    shortest = getShortestPaths(machine, options as never) as unknown as Array<StatePath<AnyMachineSnapshot, EventObject>>;
  } catch (error) {
    if (error instanceof Error && error.message === 'Traversal limit exceeded') {
      if (serialize === defaultSerialize) throw new GraphDidNotClose(error.message);
      throw new Error(
        `pathTests('${machineName}'): the state graph did not close within ${limit} traversal steps. ` +
          (settings.serializeState
            ? 'Your serializeState still tells apart too many states; make it coarser (or raise `limit`).'
            : 'Even told apart by value alone, the states do not close; pass serializeState (or raise `limit`).'),
        { cause: error },
      );
    }
    throw error;
  }

  const byKey = new Map<string, StatePath<AnyMachineSnapshot, EventObject>>();
  for (const path of shortest) byKey.set(serialize(path.state), path);

  // Accepted edges: the event is handled and some guard passes (what the runtime commits).
  const transitions = new Map<string, ModelTransition>();
  const edges: Array<{ fromKey: string; fromState: AnyMachineSnapshot; event: EventObject; to: AnyMachineSnapshot }> = [];
  for (const [fromKey, entry] of Object.entries(adjacency) as Array<[string, { state: AnyMachineSnapshot; transitions: Record<string, { event: EventObject; state: AnyMachineSnapshot }> }]>) {
    for (const { event, state: to } of Object.values(entry.transitions)) {
      if (!entry.state.can(event)) continue;
      edges.push({ fromKey, fromState: entry.state, event, to });
      const t = { from: stateToString(entry.state.value), event: event.type, to: stateToString(to.value) };
      transitions.set(transitionKey(t), t);
    }
  }

  const stepsOf = (path: StatePath<AnyMachineSnapshot, EventObject>): PathStep[] =>
    // @xstate/graph's first step is the initial state under `xstate.init`: that is our `create`.
    path.steps.slice(1).map((step) => ({ event: step.event, state: stateToString(step.state.value) }));

  let raw: Array<{ steps: PathStep[]; endKey: string }>;
  if (strategy === 'simple') {
    const simple = getSimplePaths(machine, options as never) as unknown as Array<StatePath<AnyMachineSnapshot, EventObject>>;
    raw = [...shortest, ...simple].map((p) => ({ steps: stepsOf(p), endKey: serialize(p.state) }));
  } else {
    raw = shortest.map((p) => ({ steps: stepsOf(p), endKey: serialize(p.state) }));
    if (strategy === 'transitions') {
      // One more path per (from, event, to) transition that no path takes yet: coverage is counted in the terms of
      // the history table, so graph edges that differ only in context or history add nothing.
      const initial = initialState(shortest);
      const taken = new Set(raw.flatMap((p) => p.steps.map((step, i) => transitionKey({ from: p.steps[i - 1]?.state ?? initial, event: step.event.type, to: step.state }))));
      for (const edge of edges) {
        const head = byKey.get(edge.fromKey);
        const to = stateToString(edge.to.value);
        const key = transitionKey({ from: stateToString(edge.fromState.value), event: edge.event.type, to });
        if (!head || taken.has(key)) continue;
        taken.add(key);
        raw.push({ steps: [...stepsOf(head), { event: edge.event, state: to }], endKey: serialize(edge.to) });
      }
    }
  }

  const seen = new Set<string>();
  const refusalChecked = new Set<string>();
  const names = new Set<string>();
  const paths: GeneratedPath[] = [];
  for (const { steps, endKey } of raw) {
    const signature = JSON.stringify(steps.map((s) => s.event));
    if (seen.has(signature)) continue;
    seen.add(signature);
    // Refusals depend on the active states: checked once per state value, on the first path that ends there.
    const endState = steps.at(-1)?.state ?? initialState(shortest);
    const checksRefusals = !refusalChecked.has(endState);
    refusalChecked.add(endState);
    paths.push({ name: uniqueName(names, pathName(steps, initialState(shortest))), steps, endKey, checksRefusals });
  }
  return { paths, transitions: [...transitions.values()], reachableStates: [...new Set(shortest.map((p) => stateToString(p.state.value)))], notes };
}

function initialState(shortest: ReadonlyArray<StatePath<AnyMachineSnapshot, EventObject>>): string {
  const first = shortest.find((p) => p.steps.length <= 1);
  return first ? stateToString(first.state.value) : '?';
}

export function transitionKey(t: ModelTransition): string {
  return `${t.from} --${t.event}--> ${t.to}`;
}

/** `after(trialPeriod)` for `xstate.after.trialPeriod.subscription.trial`. */
export function eventLabel(event: EventObject): string {
  if (isDelayedEvent(event.type)) return `after(${event.type.slice('xstate.after.'.length).split('.')[0] ?? '?'})`;
  return event.type;
}

function pathName(steps: readonly PathStep[], initial: string): string {
  const end = steps.at(-1)?.state ?? initial;
  const events = steps.length ? steps.map((s) => eventLabel(s.event)).join(' → ') : '(create)';
  return `${events} ⇒ ${end}`;
}

function uniqueName(names: Set<string>, name: string): string {
  let candidate = name;
  for (let n = 2; names.has(candidate); n++) candidate = `${name} #${n}`;
  names.add(candidate);
  return candidate;
}
