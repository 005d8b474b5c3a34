import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { graphTransitions, stateNodes, type GraphTransition } from './machine-info.ts';

/**
 * The machine as a Mermaid `stateDiagram-v2`: compound states drawn as nested blocks with their own initial
 * marker, parallel regions separated by `--`, every simple state declared in its block before any transition, final states ending in `[*]`, and each transition labelled
 * `EVENT [guard] / effects` (delayed events as `after <delay>`). A transition is written in the block of its
 * source's parent, so it is drawn inside the compound state it belongs to.
 *
 * With `counts` (from `tg.stateCounts`), each simple state's label says how many entities are in it now (`idle (3)`);
 * an entity in parallel regions counts in each of its leaf states.
 *
 * @example
 * console.log(mermaidDiagram(machines.subscription.machine));
 * // stateDiagram-v2
 * //   [*] --> trial
 * //   state paused {
 * //     [*] --> idle
 * //   ...
 */
export function mermaidDiagram(machine: AnyStateMachine, counts?: Readonly<Record<string, number>>): string {
  const ids = stateIds(machine);
  const perLeaf = counts ? leafCounts(counts) : undefined;
  const id = (node: AnyStateNode) => ids.get(node) as string;
  const byParent = new Map<AnyStateNode | undefined, GraphTransition[]>();
  for (const t of graphTransitions(machine)) {
    if (t.source === machine.root) continue; // a root-level handler has no state to start from
    byParent.set(t.source.parent, [...(byParent.get(t.source.parent) ?? []), t]);
  }

  const lines = ['stateDiagram-v2'];
  const block = (parent: AnyStateNode, indent: string) => {
    const children = Object.values(parent.states) as AnyStateNode[];
    if (parent.type !== 'parallel') {
      const initial = (parent.initial as { target?: readonly AnyStateNode[] } | undefined)?.target?.[0];
      if (initial) lines.push(`${indent}[*] --> ${id(initial)}`);
    }
    // Simple states first: Mermaid puts a state in the block where it is first named, so a transition inside a
    // nested block must not be the first to name a state of an outer one.
    for (const child of children) {
      if (Object.keys(child.states).length > 0) continue;
      const key = String(child.key);
      const count = perLeaf && child.type !== 'history' ? ` (${perLeaf.get(child.path.join('.')) ?? 0})` : '';
      lines.push(`${indent}state "${child.type === 'history' ? `${key} (history)` : key}${count}" as ${id(child)}`);
    }
    children.forEach((child, index) => {
      if (Object.keys(child.states).length === 0) return;
      if (parent.type === 'parallel' && index > 0) lines.push(`${indent}--`);
      lines.push(`${indent}state ${id(child)} {`);
      block(child, `${indent}  `);
      lines.push(`${indent}}`);
    });
    for (const t of byParent.get(parent) ?? []) {
      const label = [t.event, t.guard ? `[${t.guard}]` : '', t.effects.length ? `/ ${t.effects.join(', ')}` : ''].filter(Boolean).join(' ');
      for (const target of t.targets.length ? t.targets : [t.source]) lines.push(`${indent}${id(t.source)} --> ${id(target)} : ${label}`);
    }
    for (const child of children) if (child.type === 'final') lines.push(`${indent}${id(child)} --> [*]`);
  };
  block(machine.root, '  ');
  return lines.join('\n');
}

/** Entities per leaf state path, from counts per stored state string (`a.b` or, in parallel states, `a.x,a.y`). */
function leafCounts(counts: Readonly<Record<string, number>>): Map<string, number> {
  const perLeaf = new Map<string, number>();
  for (const [state, n] of Object.entries(counts)) {
    for (const leaf of state.split(',')) perLeaf.set(leaf, (perLeaf.get(leaf) ?? 0) + n);
  }
  return perLeaf;
}

// A state's key when no other state has it, else its path joined by `_`; only letters, digits and `_`.
function stateIds(machine: AnyStateMachine): Map<AnyStateNode, string> {
  const nodes = stateNodes(machine);
  const count = new Map<string, number>();
  for (const node of nodes) count.set(String(node.key), (count.get(String(node.key)) ?? 0) + 1);
  const clean = (text: string) => text.replace(/[^A-Za-z0-9_]/g, '_');
  return new Map(nodes.map((node) => [node, clean(count.get(String(node.key)) === 1 ? String(node.key) : node.path.join('_'))]));
}
