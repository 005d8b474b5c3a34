import type { StateValue } from 'xstate';

/**
 * The leaf paths of a state value, sorted: `'active'`, `'paused.idle'`, or for parallel states
 * `'paid.invoicing.draft,paid.shipment.awaiting'`. Stored in `entities.state` (indexed) so a prefix match
 * finds every entity inside a compound state.
 */
export function stateLeafPaths(value: StateValue): string[] {
  if (typeof value === 'string') return [value];
  const paths: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    if (child === undefined) continue;
    const leaves = stateLeafPaths(child);
    if (leaves.length === 0) paths.push(key);
    else for (const leaf of leaves) paths.push(`${key}.${leaf}`);
  }
  return paths.sort();
}

/** The state value as one string (see stateLeafPaths). */
export function stateToString(value: StateValue): string {
  return stateLeafPaths(value).join(',');
}
