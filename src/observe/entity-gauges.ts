import { Gauge, type Registry } from 'prom-client';
import type { AnyStateNode } from 'xstate';
import type { AnyMachineDefinition } from '../engine/definition.ts';
import type { Queries, StateLimit } from '../store/queries.ts';

/** A state's `meta.maxDwell`: how long an entity may stay before it counts as stuck. */
export type DwellLimit = StateLimit;

/** Every state with a positive numeric `meta.maxDwell`, as leaf-path prefixes. */
export function dwellLimits(machines: ReadonlyMap<string, AnyMachineDefinition>): DwellLimit[] {
  const limits: DwellLimit[] = [];
  for (const [machine, definition] of machines) {
    const visit = (node: AnyStateNode, path: string[]) => {
      const maxDwell = (node.meta as { maxDwell?: unknown } | undefined)?.maxDwell;
      if (path.length > 0 && typeof maxDwell === 'number' && maxDwell > 0) limits.push({ machine, state: path.join('.'), maxDwellMs: maxDwell });
      for (const [key, child] of Object.entries(node.states)) visit(child, [...path, key]);
    };
    visit(definition.machine.root, []);
  }
  return limits;
}

/**
 * Gauges read from the database when metrics are scraped: entities per (machine, state), and entities stuck in a
 * state longer than its `meta.maxDwell`. Computed by two grouped queries over the `(machine, state)` index, so a
 * scrape costs one index scan of the entities table.
 */
export function entityGauges(registry: Registry, queries: Pick<Queries, 'stateCounts' | 'stuckEntities'>, limits: readonly DwellLimit[], now: () => number) {
  const perState = new Gauge({ name: 'tollgate_entities', help: 'Entities by machine and state.', labelNames: ['machine', 'state'] as const, registers: [registry] });
  const stuck = new Gauge({
    name: 'tollgate_stuck_entities',
    help: "Entities in a state for longer than the state's meta.maxDwell.",
    labelNames: ['machine', 'state'] as const,
    registers: [registry],
  });
  const oldestStuck = new Gauge({
    name: 'tollgate_stuck_oldest_seconds',
    help: "Seconds the longest-stuck entity has been past its state's meta.maxDwell (0 when none is stuck).",
    labelNames: ['machine', 'state'] as const,
    registers: [registry],
  });
  return async function refresh(): Promise<void> {
    const counts = await queries.stateCounts();
    perState.reset();
    for (const row of counts) perState.set({ machine: row.machine, state: row.state }, row.n);
    if (limits.length === 0) return;
    // A limit on a state covers its descendants ('paused' covers 'paused.idle'), in any parallel region.
    const rows = await queries.stuckEntities(limits, new Date(now()));
    stuck.reset();
    oldestStuck.reset();
    for (const row of rows) {
      stuck.set({ machine: row.machine, state: row.state }, row.n);
      oldestStuck.set({ machine: row.machine, state: row.state }, row.over_ms === null ? 0 : Math.max(0, row.over_ms / 1000));
    }
  };
}
