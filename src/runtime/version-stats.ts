import { readVersionStats } from '../store/version-stats.ts';
import { machineOf, type RuntimeContext } from './runtime-context.ts';

/** One version's share of a (state, event) pair or of a state. */
export interface VersionShare {
  readonly version: number;
  readonly count: number;
  /** count / the version's total (transitions, or entities), 0 to 1. */
  readonly share: number;
}

/** A (state, event) pair's share of each version's transitions. */
export interface TransitionShares {
  /** The state the transitions left (`(created)` for the creation). */
  readonly state: string;
  readonly event: string;
  /** Every compared version, zeros included. */
  readonly shares: readonly VersionShare[];
  /** Largest share minus smallest. */
  readonly difference: number;
  /** `difference` is over the threshold: a cohort one version saw and another did not (or far less). */
  readonly flagged: boolean;
}

/** A state's share of each version's entities. */
export interface StateShares {
  readonly state: string;
  readonly shares: readonly VersionShare[];
  readonly difference: number;
  readonly flagged: boolean;
}

/** The canary comparison of one machine: `tollgate stats <machine> --by-version`, `GET .../stats?byVersion=true`. */
export interface VersionStats {
  readonly machine: string;
  /** The versions compared: every version with transitions (or entities), oldest first. */
  readonly versions: ReadonlyArray<{ readonly version: number; readonly transitions: number; readonly entities: number }>;
  /** Pairs whose share differs by more than this are flagged. */
  readonly threshold: number;
  /** Transitions counted since (ISO-8601), or null: all. */
  readonly since: string | null;
  /** Per (state, event), largest difference first. */
  readonly transitions: readonly TransitionShares[];
  /** Per stored state, largest difference first. */
  readonly states: readonly StateShares[];
}

/** How to compare. */
export interface VersionStatsOptions {
  /** Flag a pair whose share differs between versions by more than this (0 to 1). Default 0.05. */
  readonly threshold?: number;
  /** Count transitions since this time only. Default: all. */
  readonly since?: Date;
}

/**
 * Per machine version, the share of transitions per (state, event) and the distribution of entities over states,
 * flagging those whose share differs between versions by more than `threshold`: the edge-state cohorts a canary
 * (a new version serving part of the traffic) did not exercise, or exercised very differently.
 *
 * @example
 * const { transitions } = await versionStats(ctx, 'subscription', { threshold: 0.05 });
 * for (const t of transitions.filter((t) => t.flagged)) console.log(t.state, t.event, t.shares);
 */
export async function versionStats(ctx: RuntimeContext, machine: string, options: VersionStatsOptions = {}): Promise<VersionStats> {
  machineOf(ctx, machine); // TG_UNKNOWN_MACHINE
  const threshold = options.threshold ?? 0.05;
  const rows = await readVersionStats(ctx.client, ctx.schema, machine, options.since);
  const totals = new Map<number, { transitions: number; entities: number }>();
  const total = (v: number) => totals.get(v) ?? (totals.set(v, { transitions: 0, entities: 0 }), totals.get(v)!);
  for (const r of rows.transitions) total(r.machine_version).transitions += Number(r.n);
  for (const r of rows.entities) total(r.machine_version).entities += Number(r.n);
  const versions = [...totals.entries()].sort(([a], [b]) => a - b).map(([version, t]) => ({ version, ...t }));

  const compare = <K extends string>(keyed: Map<K, Map<number, number>>, of: 'transitions' | 'entities') =>
    [...keyed.entries()].map(([key, counts]) => {
      const compared = versions.filter((v) => v[of] > 0);
      const shares = compared.map((v) => ({ version: v.version, count: counts.get(v.version) ?? 0, share: round((counts.get(v.version) ?? 0) / v[of]) }));
      const difference = shares.length < 2 ? 0 : round(Math.max(...shares.map((s) => s.share)) - Math.min(...shares.map((s) => s.share)));
      return { key, shares, difference, flagged: difference > threshold };
    });

  const byPair = new Map<string, Map<number, number>>();
  for (const r of rows.transitions) {
    const key = `${r.state}\u0000${r.event_type}`;
    const counts = byPair.get(key) ?? new Map<number, number>();
    counts.set(r.machine_version, (counts.get(r.machine_version) ?? 0) + Number(r.n));
    byPair.set(key, counts);
  }
  const byState = new Map<string, Map<number, number>>();
  for (const r of rows.entities) {
    const counts = byState.get(r.state) ?? new Map<number, number>();
    counts.set(r.machine_version, Number(r.n));
    byState.set(r.state, counts);
  }
  const order = (a: { difference: number; key: string }, b: { difference: number; key: string }) => b.difference - a.difference || a.key.localeCompare(b.key);
  return {
    machine,
    versions,
    threshold,
    since: options.since ? options.since.toISOString() : null,
    transitions: compare(byPair, 'transitions')
      .sort(order)
      .map(({ key, ...rest }) => {
        const [state, event] = key.split('\u0000') as [string, string];
        return { state, event, ...rest };
      }),
    states: compare(byState, 'entities').sort(order).map(({ key, ...rest }) => ({ state: key, ...rest })),
  };
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;
