import type { Tollgate } from '../runtime/create-tollgate.ts';
import { transitionKey, type GeneratedPath, type ModelTransition } from './generate.ts';
import { portsOf } from '../runtime/ports.ts';

/** Which of the machine's transitions the generated paths take. */
export interface PathCoverage {
  /** Accepted (from, event, to) edges found by walking the machine with the given input and samples. */
  readonly transitions: readonly ModelTransition[];
  readonly covered: readonly ModelTransition[];
  readonly uncovered: readonly ModelTransition[];
  /** covered / transitions, 1 when the machine has none. */
  readonly ratio: number;
}

/** A transition as production took it, with how often. */
export interface ObservedTransition extends ModelTransition {
  readonly count: number;
  /** Whether walking the model found this edge at all (false: another input, or an older machine version). */
  readonly inModel: boolean;
}

/** Path coverage set against the history table. */
export interface ProductionCoverage extends PathCoverage {
  /** Transitions committed in the database that no generated path takes: add samples, inputs or paths for them. */
  readonly takenButUntested: readonly ObservedTransition[];
  /** Transitions of the model that the history never shows. */
  readonly neverTaken: readonly ModelTransition[];
  readonly observed: readonly ObservedTransition[];
}

/** The (from, event, to) edges the paths take. */
export function pathCoverage(transitions: readonly ModelTransition[], paths: readonly GeneratedPath[], initialState: string): PathCoverage {
  const taken = new Set<string>();
  for (const path of paths) {
    let from = initialState;
    for (const step of path.steps) {
      taken.add(transitionKey({ from, event: step.event.type, to: step.state }));
      from = step.state;
    }
  }
  const covered = transitions.filter((t) => taken.has(transitionKey(t)));
  const uncovered = transitions.filter((t) => !taken.has(transitionKey(t)));
  return { transitions, covered, uncovered, ratio: transitions.length === 0 ? 1 : covered.length / transitions.length };
}

/**
 * The coverage of several path suites of one machine (one per input, say): a transition is in the model if any
 * suite's walk found it, covered if any suite's paths take it.
 */
export function mergeCoverage(parts: readonly PathCoverage[]): PathCoverage {
  const model = new Map<string, ModelTransition>();
  const taken = new Set<string>();
  for (const part of parts) {
    for (const t of part.transitions) model.set(transitionKey(t), t);
    for (const t of part.covered) taken.add(transitionKey(t));
  }
  const transitions = [...model.values()];
  const covered = transitions.filter((t) => taken.has(transitionKey(t)));
  const uncovered = transitions.filter((t) => !taken.has(transitionKey(t)));
  return { transitions, covered, uncovered, ratio: transitions.length === 0 ? 1 : covered.length / transitions.length };
}

/**
 * Reads the history table of `tg` for `machine` (creation rows excluded) and sets it against the paths: what
 * production does that no path tests, and what the model allows that never happens.
 */
export async function productionCoverage(tg: Tollgate, machine: string, coverage: PathCoverage): Promise<ProductionCoverage> {
  const rows = await portsOf(tg).transitionCounts(machine);
  const model = new Set(coverage.transitions.map(transitionKey));
  const covered = new Set(coverage.covered.map(transitionKey));
  const observed: ObservedTransition[] = rows.map((r) => {
    const t = { from: r.from, event: r.event, to: r.to };
    return { ...t, count: r.count, inModel: model.has(transitionKey(t)) };
  });
  const seen = new Set(observed.map(transitionKey));
  return {
    ...coverage,
    observed,
    takenButUntested: observed.filter((t) => !covered.has(transitionKey(t))),
    neverTaken: coverage.transitions.filter((t) => !seen.has(transitionKey(t))),
  };
}

/** A plain-text report, one transition a line. */
export function formatCoverage(machine: string, c: PathCoverage | ProductionCoverage): string {
  const lines = [`${machine}: paths cover ${c.covered.length}/${c.transitions.length} transitions (${Math.round(c.ratio * 100)}%)`];
  for (const t of c.uncovered) lines.push(`  not covered by a path: ${transitionKey(t)}`);
  if ('observed' in c) {
    for (const t of c.takenButUntested) lines.push(`  taken ${t.count}x in production, no path: ${transitionKey(t)}${t.inModel ? '' : ' (not in the model walk)'}`);
    for (const t of c.neverTaken) lines.push(`  never taken in production: ${transitionKey(t)}`);
  }
  return lines.join('\n');
}
