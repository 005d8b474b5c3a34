import { StateNode, type AnyStateMachine, type AnyStateNode } from 'xstate';
import { z } from 'zod';
import type { AnyMachineDefinition } from '../engine/definition.ts';
import { effectType, effectTypes, stateNodes } from '../engine/effect-types.ts';

// Re-exported for the diagram and the inspector, which read machines through this module.
export { effectTypes, stateNodes };

/** A registered machine as listings show it. */
export interface MachineSummary {
  readonly name: string;
  readonly version: number;
  readonly description: string | null;
  readonly initial: unknown;
  readonly states: readonly string[];
  readonly events: readonly string[];
  readonly effects: readonly string[];
  readonly compensations: Readonly<Record<string, string>>;
}

/** A machine with its schemas and XState definition. */
export interface MachineDetail extends MachineSummary {
  readonly inputSchema: Record<string, unknown>;
  readonly eventSchemas: Record<string, Record<string, unknown>>;
  readonly definition: Record<string, unknown>;
}

/** One transition of the machine graph, as drawn and listed. */
export interface GraphTransition {
  readonly source: AnyStateNode;
  readonly targets: readonly AnyStateNode[];
  /** `CANCEL`, `after trialPeriod`, `done`, `always`. */
  readonly event: string;
  readonly guard: string | null;
  readonly effects: readonly string[];
}

/** The dotted path of a node: `paused.idle`. */
export function nodePath(node: AnyStateNode): string {
  return node.path.join('.');
}

function guardName(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === 'string') return guard;
  const type = (guard as { type?: unknown }).type;
  return typeof type === 'string' ? type : 'guard';
}

/** `xstate.after.trialPeriod.subscription.trial` -> `after trialPeriod`; `xstate.done.state.x` -> `done`. */
export function eventLabel(eventType: string, source: AnyStateNode): string {
  const prefix = 'xstate.after.';
  const suffix = `.${source.id}`;
  if (eventType.startsWith(prefix) && eventType.endsWith(suffix)) return `after ${eventType.slice(prefix.length, -suffix.length)}`;
  if (eventType.startsWith('xstate.done.state.')) return 'done';
  return eventType;
}

/** Every transition of the machine (event, delayed, done and eventless), in document order. */
export function graphTransitions(machine: AnyStateMachine): GraphTransition[] {
  const result: GraphTransition[] = [];
  for (const node of [machine.root, ...stateNodes(machine)]) {
    const groups: Array<[string, readonly unknown[]]> = [...(node.transitions as Map<string, unknown[]>)];
    if (node.always) groups.push(['always', node.always]);
    for (const [eventType, transitions] of groups) {
      for (const t of transitions as Array<{ target?: AnyStateNode[]; guard?: unknown; actions: unknown[] }>) {
        result.push({
          source: node,
          targets: t.target ?? [],
          event: eventType === 'always' ? 'always' : eventLabel(eventType, node),
          guard: guardName(t.guard),
          effects: t.actions.map((a) => effectType(machine, a)).filter((a): a is string => a !== null),
        });
      }
    }
  }
  return result;
}

/** The summary of one machine. */
export function describeMachine(name: string, definition: AnyMachineDefinition): MachineSummary {
  const machine = definition.machine;
  return {
    name,
    version: definition.version,
    description: definition.description ?? null,
    initial: initialValue(machine),
    states: stateNodes(machine).map(nodePath),
    events: Object.keys(definition.events),
    effects: effectTypes(machine),
    compensations: definition.compensations ?? {},
  };
}

/** The summary plus the JSON Schemas of input and events and the XState definition. */
export function describeMachineInDetail(name: string, definition: AnyMachineDefinition): MachineDetail {
  const eventSchemas: Record<string, Record<string, unknown>> = {};
  for (const [type, schema] of Object.entries(definition.events)) eventSchemas[type] = jsonSchemaOf(schema, 'input');
  return {
    ...describeMachine(name, definition),
    inputSchema: jsonSchemaOf(definition.input, 'input'),
    eventSchemas,
    definition: jsonSafe(definition.machine.definition) as Record<string, unknown>,
  };
}

/** A zod schema as JSON Schema (2020-12), without the `$schema` member so it can be embedded. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const { $schema: _omit, ...rest } = z.toJSONSchema(schema, { unrepresentable: 'any', io }) as Record<string, unknown>;
  return rest;
}

// The initial state value for display, computed from the machine's config (no input needed).
function initialValue(machine: AnyStateMachine): unknown {
  const initial = (machine.root.initial as { target?: readonly AnyStateNode[] } | undefined)?.target;
  return initial?.map((node) => nodePath(node)).join(',') ?? null;
}

/**
 * Functions (inline guards and assigns) become `"[function]"`; a state node referenced from a transition (its
 * `source` and `target`) becomes its id, `"#order.paid"`, as in XState's own target syntax: serialised whole, each
 * reference would drag in its `parent` and the whole graph again (megabytes per machine). A cycle becomes `"[cycle]"`.
 */
function jsonSafe(value: unknown, ancestors: Set<object> = new Set()): unknown {
  if (typeof value === 'function') return '[function]';
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof StateNode) return `#${value.id}`;
  if (ancestors.has(value)) return '[cycle]';
  ancestors.add(value);
  const result = Array.isArray(value)
    ? value.map((item: unknown) => jsonSafe(item, ancestors) ?? null)
    : Object.fromEntries(
        Object.entries(value)
          .filter(([k, v]) => v !== undefined && k !== 'toJSON')
          .map(([k, v]) => [k, jsonSafe(v, ancestors)]),
      );
  ancestors.delete(value);
  return result;
}
