/**
 * Path tests on migrated entities: every path generated for a machine's new version is run on an entity the older
 * version wrote. The path is split where the older version stops taking it (the longest prefix both versions accept,
 * steps the deploy cannot tell apart); the prefix is driven through the older release (itself checked against XState),
 * the entity is migrated (lazily by the continuation's first event, or in bulk before it), and the rest of the path runs
 * through the new release, every step held to what the new version's own XState reaches with the whole path: a
 * migration that leaves a snapshot, a context, a history value or a timer other than the new version would have is a
 * PathDivergence.
 */
import type { AnyMachineSnapshot } from 'xstate';
import type { AnyMachineDefinition } from '../../src/engine/definition.ts';
import { stateToString } from '../../src/engine/state-value.ts';
import type { Tollgate } from '../../src/runtime/create-tollgate.ts';
import type { GeneratedPath, PathStep } from '../../src/testing/generate.ts';
import { oracleInitial, oracleStep } from '../../src/testing/oracle.ts';
import { runPath, type ExpectedTimerRow, type PathStart, type RunContext } from '../../src/testing/run-path.ts';
import { isDelayedEvent } from '../../src/testing/generate.ts';
import type { EventSamples } from '../../src/testing/samples.ts';

/** A path of the new version, split for a run on a migrated entity. */
export interface MigratedPath {
  readonly name: string;
  /** Steps run through the older release, with the states that release reaches. */
  readonly prefix: readonly PathStep[];
  /** Steps run through the new release after the migration. */
  readonly rest: readonly PathStep[];
  /** Migrated by the first step of `rest` (an event a caller sends) rather than by a bulk run. */
  readonly lazy: boolean;
}

/**
 * Splits each path of the new version: at the longest prefix both versions accept (migrated in bulk), and, when some
 * step up to there is an event a caller sends, before the last such step (migrated by that event, and in bulk).
 */
export function splitPaths(older: AnyMachineDefinition, newer: AnyMachineDefinition, input: unknown, paths: readonly GeneratedPath[]): MigratedPath[] {
  const split: MigratedPath[] = [];
  for (const path of paths) {
    let before = oracleInitial(older.machine, input).snapshot;
    let after = oracleInitial(newer.machine, input).snapshot;
    const prefix: PathStep[] = [];
    for (const step of path.steps) {
      const a = oracleStep(older.machine, before, step.event);
      const b = oracleStep(newer.machine, after, step.event);
      if (!a.accepted || !b.accepted) break;
      prefix.push({ event: step.event, state: stateOf(a.snapshot) });
      before = a.snapshot;
      after = b.snapshot;
    }
    split.push({ name: `${path.name} [bulk-migrated after ${prefix.length}]`, prefix, rest: path.steps.slice(prefix.length), lazy: false });
    const last = Math.min(prefix.length, path.steps.length - 1);
    for (let k = last; k >= 0; k--) {
      const step = path.steps[k];
      if (!step || isDelayedEvent(step.event.type)) continue;
      split.push({ name: `${path.name} [migrated by step ${k + 1}]`, prefix: prefix.slice(0, k), rest: path.steps.slice(k), lazy: true });
      if (k !== prefix.length) split.push({ name: `${path.name} [bulk-migrated before step ${k + 1}]`, prefix: prefix.slice(0, k), rest: path.steps.slice(k), lazy: false });
      break;
    }
  }
  return split;
}

/** Phase 1: the prefix through the older release; returns where the path continues from once migrated. */
export async function runPrefix(
  tg: Tollgate,
  ctx: { machineName: string; older: AnyMachineDefinition; newer: AnyMachineDefinition; input: unknown; events: EventSamples },
  path: MigratedPath,
): Promise<PathStart> {
  const run: RunContext = { machineName: ctx.machineName, definition: ctx.older, input: ctx.input, events: ctx.events, entityPrefix: 'migrated' };
  const { entityId } = await runPath(tg, run, { name: path.name, steps: path.prefix, endKey: '', checksRefusals: false });
  const history = await tg.history(ctx.machineName, entityId, { limit: 1000 });
  // What the new version would have pending after the same steps, armed when the older release committed each.
  let oracle = oracleInitial(ctx.newer.machine, ctx.input);
  let scheduled: ExpectedTimerRow[] = [];
  const arm = (step: typeof oracle, at: string | undefined) => {
    scheduled = scheduled.filter((t) => !step.cancels.includes(t.sendId));
    scheduled.push(...step.timers.map((t) => ({ sendId: t.sendId, eventType: t.eventType, dueAt: new Date(Date.parse(at ?? '') + t.delayMs).toISOString() })));
  };
  arm(oracle, history[0]?.createdAt);
  for (const [i, step] of path.prefix.entries()) {
    oracle = oracleStep(ctx.newer.machine, oracle.snapshot, step.event);
    arm(oracle, history[i + 1]?.createdAt);
  }
  const entity = await tg.get(ctx.machineName, entityId);
  return {
    entityId,
    snapshot: oracle.snapshot,
    storedState: entity.state,
    version: entity.version,
    effects: (await tg.effects(ctx.machineName, entityId)).length,
    scheduled,
    lazy: path.lazy,
  };
}

/** Phase 2: the rest of the path through the new release, from the migrated entity. */
export function runRest(tg: Tollgate, ctx: { machineName: string; newer: AnyMachineDefinition; input: unknown; events: EventSamples }, path: MigratedPath, start: PathStart) {
  const run: RunContext = { machineName: ctx.machineName, definition: ctx.newer, input: ctx.input, events: ctx.events, entityPrefix: 'migrated', start };
  return runPath(tg, run, { name: path.name, steps: path.rest, endKey: '', checksRefusals: false });
}

function stateOf(snapshot: AnyMachineSnapshot): string {
  return stateToString(snapshot.value);
}
