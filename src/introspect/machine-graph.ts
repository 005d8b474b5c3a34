import { createMachine, type AnyStateMachine, type AnyStateNode } from 'xstate';
import { graphTransitions, nodePath } from './machine-info.ts';

/** A state as the inspector draws it: a box, nested boxes for its children. */
export interface GraphNode {
  /** Dotted path (`paused.idle`); `''` for the root. */
  readonly path: string;
  readonly key: string;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  readonly history: 'shallow' | 'deep' | null;
  /** Whether it is its parent's initial state. */
  readonly initial: boolean;
  readonly maxDwellMs: number | null;
  readonly description: string | null;
  readonly children: readonly GraphNode[];
}

/** A transition as the inspector draws it: an edge from a state to its targets. */
export interface GraphEdge {
  readonly id: string;
  readonly source: string;
  /** Target paths; empty for a targetless transition (drawn as a self-loop). */
  readonly targets: readonly string[];
  readonly event: string;
  readonly guard: string | null;
  readonly effects: readonly string[];
}

/** The machine as boxes and edges, for the inspector's layout (done in the browser). */
export interface MachineGraph {
  readonly name: string;
  readonly root: GraphNode;
  readonly edges: readonly GraphEdge[];
}

/** The graph of a machine: every state node, every transition with its event, guard and effects. */
export function machineGraph(name: string, machine: AnyStateMachine): MachineGraph {
  const node = (n: AnyStateNode): GraphNode => {
    const parentInitial = (n.parent?.initial as { target?: readonly AnyStateNode[] } | undefined)?.target ?? [];
    const maxDwell = (n.meta as { maxDwell?: unknown } | undefined)?.maxDwell;
    return {
      path: nodePath(n),
      key: n.key,
      type: n.type,
      history: n.type === 'history' ? ((n as { history?: 'shallow' | 'deep' }).history ?? 'shallow') : null,
      initial: n.parent?.type === 'compound' && parentInitial.includes(n),
      maxDwellMs: typeof maxDwell === 'number' ? maxDwell : null,
      description: typeof n.description === 'string' ? n.description : null,
      children: (Object.values(n.states) as AnyStateNode[]).map(node),
    };
  };
  const edges = graphTransitions(machine).map((t, i) => ({
    id: `e${i}`,
    source: nodePath(t.source),
    targets: t.targets.map(nodePath),
    event: t.event,
    guard: t.guard,
    effects: t.effects,
  }));
  return { name, root: node(machine.root), edges };
}

/**
 * The graph of a machine known only by the JSON config an XState inspector sent (`@xstate.actor`'s `definition`):
 * guards, actions and delays are names without implementations, which is all drawing needs. Undefined when the
 * config does not make a machine.
 */
export function graphOfConfig(name: string, definition: unknown): MachineGraph | undefined {
  try {
    const config = typeof definition === 'string' ? (JSON.parse(definition) as unknown) : definition;
    if (typeof config !== 'object' || config === null) return undefined;
    return machineGraph(name, createMachine(config as Parameters<typeof createMachine>[0]));
  } catch {
    return undefined;
  }
}
