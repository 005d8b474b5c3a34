import type { AnyMachineDefinition } from '../engine/definition.ts';
import { canonicalJson, sameJson } from '../runtime/fingerprint.ts';
import { migratedStateOf, migrationHops } from '../engine/migrate-snapshot.ts';
import type { RecordedEntity, RecordedStep, StepOutcome } from './recorded.ts';
import type { ReplayResult } from './replay-entity.ts';

/** How a business outcome changed between the recorded history and the replay. */
export type ChangeKind = 'accepted-now-refused' | 'refused-now-accepted' | 'target' | 'effects' | 'timers';

/** Every change kind, in report order. */
export const changeKinds: readonly ChangeKind[] = ['accepted-now-refused', 'refused-now-accepted', 'target', 'effects', 'timers'];

/** One changed outcome of one step. */
export interface OutcomeChange {
  readonly machine: string;
  readonly entityId: string;
  readonly index: number;
  readonly seq: number | null;
  /** The recorded state the event met (for the creation: `(none)`). */
  readonly state: string;
  readonly eventType: string;
  readonly kind: ChangeKind;
  /** Short forms of the two outcomes for the report, e.g. `canceled` / `grace.final_notice`, or effect lists. */
  readonly before: string;
  readonly after: string;
}

/** What comparing one entity found. */
export interface EntityComparison {
  readonly changes: readonly OutcomeChange[];
  /** Steps compared (up to the first divergence). */
  readonly compared: number;
  /**
   * The replay left the recorded path (another target, or accepted/refused swapped): later steps met another state,
   * so they are not compared (their differences follow from the first).
   */
  readonly diverged: boolean;
  /** The replay could not go on (see ReplayResult.stopped). */
  readonly stopped?: ReplayResult['stopped'];
}

/**
 * Compares a replay (replay-entity.ts) with the recorded outcomes, step by step: accepted now refused and the
 * reverse, another target state, other effects (type and parameters, in order), other timers (sendId and delay).
 * A recorded state written by an older version is first carried through the definition's migrations, so a state a
 * migration renamed is not a change. Comparison stops at the first divergence of state.
 */
export function compareOutcomes(definition: AnyMachineDefinition, recorded: RecordedEntity, replay: ReplayResult): EntityComparison {
  const changes: OutcomeChange[] = [];
  let compared = 0;
  for (const replayed of replay.steps) {
    const step = recorded.steps[replayed.index]!;
    if (!step.outcome || step.kind === 'migration' || step.kind === 'override' || step.kind === 'import') continue;
    compared++;
    const before = step.outcome;
    const after = replayed.outcome;
    const change = (kind: ChangeKind, b: string, a: string) =>
      changes.push({ machine: recorded.machine, entityId: recorded.id, index: replayed.index, seq: step.seq, state: step.fromState ?? '(none)', eventType: step.event.type, kind, before: b, after: a });
    if (before.accepted !== after.accepted) {
      change(before.accepted ? 'accepted-now-refused' : 'refused-now-accepted', describe(before), describe(after));
      return { changes, compared, diverged: true };
    }
    if (!before.accepted) continue;
    const recordedState = stateUnder(definition, recorded, step);
    if (recordedState !== after.state) {
      change('target', recordedState, after.state);
      return { changes, compared, diverged: true };
    }
    // Compared as values first: the descriptions are built only for a change (most steps have none).
    if (!step.shadow && !sameEffects(before, after)) change('effects', effectList(before), effectList(after));
    const timersBefore = timerList(before);
    const timersAfter = timerList(after);
    if (timersBefore !== timersAfter) change('timers', timersBefore, timersAfter);
  }
  return { changes, compared, diverged: false, ...(replay.stopped ? { stopped: replay.stopped } : {}) };
}

/** The recorded target state in the definition's terms: carried through its migrations when an older version wrote it. */
function stateUnder(definition: AnyMachineDefinition, recorded: RecordedEntity, step: RecordedStep): string {
  const state = step.outcome!.state;
  if (step.snapshot === undefined || migrationHops(definition, step.machineVersion).length === 0) return state;
  try {
    return migratedStateOf(definition, step.snapshot, step.machineVersion) ?? state;
  } catch {
    return state;
  }
}

function sameEffects(a: StepOutcome, b: StepOutcome): boolean {
  if (a.effects.length !== b.effects.length) return false;
  return a.effects.every((e, i) => e.type === b.effects[i]!.type && sameJson(e.params ?? {}, b.effects[i]!.params ?? {}));
}

function describe(outcome: StepOutcome): string {
  return outcome.accepted ? `accepted -> ${outcome.state}` : `refused (${outcome.code ?? 'refused'}) in ${outcome.state}`;
}

/** `sendEmail{"customerId":"c","template":"x"}, chargePayment{...}`: type and canonical parameters, in order. */
function effectList(outcome: StepOutcome): string {
  return outcome.effects.map((e) => `${e.type}${canonicalJson(e.params ?? {})}`).join(', ') || '(none)';
}

function timerList(outcome: StepOutcome): string {
  return outcome.timers.map((t) => `${t.sendId} ${t.delayMs}ms`).sort().join(', ') || '(none)';
}
