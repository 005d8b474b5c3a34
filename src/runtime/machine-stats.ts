import type { AnyStateNode } from 'xstate';
import { dwellLimits } from '../observe/entity-gauges.ts';
import { activeFreezes } from '../policy/freezes.ts';
import type { FreezeScope } from '../store/rows.ts';
import type { MachineStatsRows, StatsQueries } from '../store/stats.ts';
import { machineOf, type RuntimeContext } from './runtime-context.ts';

/** Refusals are counted over this window. */
export const refusalWindowMs = 15 * 60 * 1000;

/** What the fleet looks like in one state (a state path: `paused`, `paused.idle`). */
export interface StateStats {
  /** Entities in this state or inside it (an entity in parallel regions counts once per region's state). */
  readonly count: number;
  /** Entities in it for longer than its `meta.maxDwell` (null when it has none), and the longest by how much. */
  readonly stuck: { readonly count: number; readonly maxOverMs: number | null } | null;
  /** Refused attempts in the last 15 minutes while an entity was in this state, per event and code. */
  readonly refusals: ReadonlyArray<{ readonly event: string; readonly code: string; readonly count: number }>;
  /** Effects not yet settled, or failed, emitted by transitions into this state. */
  readonly effects: { readonly pending: number; readonly dispatched: number; readonly failed: number };
}

/** The fleet of one machine now: what `GET /v1/machines/{machine}/stats` answers and the inspector draws. */
export interface MachineStats {
  readonly machine: string;
  readonly version: number;
  /** When these were read (the runtime's clock). */
  readonly at: string;
  /** All entities of the machine. */
  readonly entities: number;
  /** Entities per stored state string (leaf paths joined by `,`), as `EntityView.state` writes it. */
  readonly stateCounts: Readonly<Record<string, number>>;
  /** Per state path, every state of the machine (zeros included). */
  readonly states: Readonly<Record<string, StateStats>>;
  /** Conflict retries per (from, to) state pair: counted by this process since it started (metrics). */
  readonly conflictRetries: ReadonlyArray<{ readonly from: string; readonly to: string; readonly count: number }>;
  readonly refusalWindowMinutes: number;
  /** The freezes of the machine in force now (docs/governance.md), as every process applies them. */
  readonly freezes: ReadonlyArray<FreezeScope & { readonly until: string | null }>;
}

/** The stats of `machine`, read now. */
export async function machineStats(ctx: RuntimeContext, stats: StatsQueries, machine: string): Promise<MachineStats> {
  const definition = machineOf(ctx, machine);
  const now = ctx.clock.now();
  const limits = dwellLimits(new Map([[machine, definition]]));
  const rows = await stats.machineStats({ machine, at: new Date(now), limits, refusalsSince: new Date(now - refusalWindowMs) });
  const conflictRetries = (await ctx.metrics.conflictRetries.get()).values
    .filter((v) => v.labels.machine === machine)
    .map((v) => ({ from: String(v.labels.from), to: String(v.labels.to), count: v.value }));
  return {
    machine,
    version: definition.version,
    at: new Date(now).toISOString(),
    entities: rows.counts.reduce((sum, r) => sum + r.n, 0),
    stateCounts: Object.fromEntries(rows.counts.map((r) => [r.state, r.n])),
    states: perState(statePaths(definition.machine.root), rows, new Set(limits.map((l) => l.state))),
    conflictRetries,
    refusalWindowMinutes: refusalWindowMs / 60_000,
    freezes: activeFreezes((await ctx.governance.current()).freezes, now, machine).map((f) => ({ ...f, until: f.until === null ? null : new Date(f.until).toISOString() })),
  };
}

function statePaths(root: AnyStateNode): string[] {
  const paths: string[] = [];
  const visit = (node: AnyStateNode) => {
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      paths.push(child.path.join('.'));
      visit(child);
    }
  };
  visit(root);
  return paths;
}

/** `a.x,b.y` -> the leaf paths and every ancestor path, once each: `a`, `a.x`, `b`, `b.y`. */
export function pathsOfState(state: string): Set<string> {
  const paths = new Set<string>();
  for (const leaf of state.split(',')) {
    const parts = leaf.split('.');
    for (let i = 1; i <= parts.length; i++) paths.add(parts.slice(0, i).join('.'));
  }
  return paths;
}

function perState(paths: readonly string[], rows: MachineStatsRows, limited: ReadonlySet<string>): Record<string, StateStats> {
  const states = new Map(
    paths.map((path) => [
      path,
      {
        count: 0,
        stuck: limited.has(path) ? { count: 0, maxOverMs: null as number | null } : null,
        refusals: [] as Array<{ event: string; code: string; count: number }>,
        effects: { pending: 0, dispatched: 0, failed: 0 },
      },
    ]),
  );
  for (const row of rows.counts) for (const path of pathsOfState(row.state)) {
    const s = states.get(path);
    if (s) s.count += row.n;
  }
  for (const row of rows.stuck) {
    const s = states.get(row.state);
    if (s?.stuck) s.stuck = { count: row.n, maxOverMs: row.n > 0 ? row.over_ms : null };
  }
  // Refusals and effects belong to the leaf states the entity was in (drawn on those boxes).
  for (const row of rows.refusals) for (const leaf of (row.state ?? '').split(',')) {
    states.get(leaf)?.refusals.push({ event: row.event_type, code: row.code, count: row.n });
  }
  for (const row of rows.effects) for (const leaf of row.state.split(',')) {
    const s = states.get(leaf);
    if (s) s.effects[row.status] += row.n;
  }
  return Object.fromEntries(states);
}
