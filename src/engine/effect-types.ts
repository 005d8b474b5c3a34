import type { AnyStateMachine, AnyStateNode } from 'xstate';

/** Every state node below the root, parents before children. */
export function stateNodes(machine: AnyStateMachine): AnyStateNode[] {
  const nodes: AnyStateNode[] = [];
  const visit = (node: AnyStateNode) => {
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      nodes.push(child);
      visit(child);
    }
  };
  visit(machine.root);
  return nodes;
}

/** The action's type when it is a custom action (an effect), as opposed to assign and the other built-ins; else null. */
export function effectType(machine: AnyStateMachine, action: unknown): string | null {
  const type = typeof action === 'string' ? action : (action as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || type.startsWith('xstate.')) return null;
  const implementation = (machine.implementations.actions as Record<string, unknown>)[type] as { type?: unknown } | undefined;
  if (typeof implementation?.type === 'string' && implementation.type.startsWith('xstate.')) return null;
  return type;
}

/** Effect types of the machine: custom actions of transitions (eventless ones included), entry and exit, sorted. */
export function effectTypes(machine: AnyStateMachine): string[] {
  const types = new Set<string>();
  const add = (actions: readonly unknown[]) => {
    for (const action of actions) {
      const type = effectType(machine, action);
      if (type) types.add(type);
    }
  };
  for (const node of [machine.root, ...stateNodes(machine)]) {
    for (const transitions of node.transitions.values()) for (const t of transitions) add(t.actions);
    for (const t of node.always ?? []) add(t.actions);
    add(node.entry);
    add(node.exit);
  }
  return [...types].sort();
}
