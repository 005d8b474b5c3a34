import type { AnyMachineSnapshot, EventObject } from 'xstate';
import type { AnyMachineDefinition } from '../engine/definition.ts';
import type { Accepted, Decision } from '../engine/decision.ts';
import { afterTimerActive } from '../engine/after-timers.ts';
import { evaluate, evaluateInitial } from '../engine/evaluate.ts';
import { migrateSnapshot } from '../engine/migrate-snapshot.ts';
import { stateToString } from '../engine/state-value.ts';
import { isTollgateError } from '../errors.ts';
import type { RecordedEntity, RecordedStep, StepKind, StepOutcome } from './recorded.ts';

/** One step as the replayed machine version decides it. */
export interface ReplayedStep {
  /** Index of the step in `RecordedEntity.steps`. */
  readonly index: number;
  readonly seq: number | null;
  readonly kind: StepKind;
  readonly eventType: string;
  /** The replayed state before the step (null before the creation). */
  readonly fromState: string | null;
  readonly outcome: StepOutcome;
  /**
   * A recorded timer this version does not have pending (renamed, removed, another delay): the timers of this
   * version that were due by the time it fired, fired in due order instead (their effects and timers are summed).
   */
  readonly firedInstead?: readonly string[];
}

/** A timer the replay holds pending. */
export interface PendingTimer {
  readonly sendId: string;
  readonly event: EventObject;
  readonly dueAt: number;
}

/** The replay of one entity. */
export interface ReplayResult {
  readonly machine: string;
  readonly id: string;
  /** The version replayed through. */
  readonly machineVersion: number;
  readonly steps: readonly ReplayedStep[];
  /** The live snapshot after the last step (undefined if there was no creation to start from). */
  readonly snapshot: AnyMachineSnapshot | undefined;
  /** The persisted form of `snapshot`, when the last step computed it (an accepted event); else compute it. */
  readonly persisted?: unknown;
  readonly state: string | undefined;
  readonly pendingTimers: readonly PendingTimer[];
  /** Transitions evaluated (for throughput). */
  readonly evaluated: number;
  /** Set when the replay could not go on: the step, and the coded reason (the machine threw, a snapshot does not restore). */
  readonly stopped?: { readonly index: number; readonly code: string; readonly message: string };
}

/** How to replay. */
export interface ReplayOptions {
  /**
   * What a `$migrated` step does (an `$override` step always goes on from the snapshot it stored). `'skip'`
   * (default): nothing; right when replaying the whole history through a
   * newer version, whose snapshot is already of that version. `'rebase'`: continue from the snapshot the migration
   * stored, with the timers it left pending; right when auditing with the version that did the migration.
   */
  readonly onMigration?: 'skip' | 'rebase';
  /**
   * Start after step `index` from the snapshot stored there (restored, migrated by the definition's hops when it
   * is of an older version) and the timers pending then, instead of from the creation. Default: from the creation.
   */
  readonly fromIndex?: number;
}

/**
 * Rebuilds an entity's snapshots through one machine version from its recorded history, writing nothing: the
 * creation's input through `initialTransition`, then every event in order with XState's pure `transition`, timers
 * as they fired. Each step's decision (accepted or refused, target state, effects, timers armed) is returned, for
 * `tollgate audit` (same version: compare with what was stored) and `tollgate replay` (another version: compare
 * outcomes, compare.ts).
 *
 * A recorded timer firing fires the replay's pending timer with the same sendId; when the version has none (the
 * state or delay changed), the version's own pending timers due by then fire in due order instead, each at its due
 * time. Refused attempts (rejections) are evaluated too. The snapshot passes from step to step live: no JSON.
 *
 * @example
 * const result = replayEntity(machines.subscription, recorded);
 * const changes = compareOutcomes(machines.subscription, recorded, result);
 */
export function replayEntity(definition: AnyMachineDefinition, recorded: RecordedEntity, options: ReplayOptions = {}): ReplayResult {
  const target = { machine: recorded.machine, entityId: recorded.id };
  const steps: ReplayedStep[] = [];
  const pending = new Map<string, PendingTimer>();
  let snapshot: AnyMachineSnapshot | undefined;
  let persisted: unknown;
  let evaluated = 0;
  const result = (stopped?: ReplayResult['stopped']): ReplayResult => ({
    machine: recorded.machine,
    id: recorded.id,
    machineVersion: definition.version,
    steps,
    snapshot,
    ...(persisted !== undefined ? { persisted } : {}),
    state: snapshot ? stateToString(snapshot.value) : undefined,
    pendingTimers: [...pending.values()],
    evaluated,
    ...(stopped ? { stopped } : {}),
  });
  const arm = (decision: Accepted, at: number) => {
    for (const sendId of decision.cancels) pending.delete(sendId);
    for (const timer of decision.timers) pending.set(timer.sendId, { sendId: timer.sendId, event: timer.event, dueAt: at + timer.delayMs });
  };

  let start = 0;
  if (options.fromIndex !== undefined) {
    const base = recorded.steps[options.fromIndex];
    if (!base?.snapshot) return result({ index: options.fromIndex, code: 'TG_SNAPSHOT_INCOMPATIBLE', message: `step ${options.fromIndex} has no stored snapshot to start from` });
    try {
      snapshot = rebase(definition, recorded, base, pending);
      persisted = undefined;
    } catch (error) {
      return result(stopOf(options.fromIndex, error));
    }
    start = options.fromIndex + 1;
  }

  for (let index = start; index < recorded.steps.length; index++) {
    const step = recorded.steps[index]!;
    const fromState = snapshot ? stateToString(snapshot.value) : null;
    const base = { index, seq: step.seq, kind: step.kind, eventType: step.event.type, fromState };
    try {
      if (step.kind === 'create') {
        const decision = evaluateInitial(definition.machine, (step.event as { input?: unknown }).input, target);
        evaluated++;
        pending.clear();
        snapshot = decision.snapshot;
        persisted = decision.persisted;
        arm(decision, step.at);
        steps.push({ ...base, outcome: outcomeOf(decision) });
        continue;
      }
      if (step.kind === 'import') {
        // An imported entity's life before tollgate is not recorded: the replay starts from the snapshot it was
        // imported with, and the timers that import armed.
        snapshot = rebase(definition, recorded, step, pending);
        persisted = undefined;
        steps.push({ ...base, outcome: { accepted: true, state: stateToString(snapshot.value), effects: [], timers: [] } });
        continue;
      }
      if (!snapshot) return result({ index, code: 'TG_ENTITY_NOT_FOUND', message: 'the history does not start with the creation' });
      if (step.kind === 'migration' || step.kind === 'override') {
        // An override is a person's repair that no event explains: the replay goes on from the snapshot it stored,
        // with the pending timers of the states it is in (a timer of a state it left can no longer fire).
        if (step.kind === 'override' || options.onMigration === 'rebase') {
          snapshot = rebase(definition, recorded, step, pending);
          persisted = undefined;
        }
        if (step.kind === 'override') dropLeftTimers(definition, snapshot, pending);
        steps.push({ ...base, outcome: { accepted: true, state: stateToString(snapshot.value), effects: [], timers: [] } });
        continue;
      }
      if (step.kind === 'timer') {
        const sendId = step.timerSendId ?? step.event.type;
        const timer = pending.get(sendId);
        if (timer) {
          pending.delete(sendId);
          const decision = evaluate(definition.machine, snapshot, timer.event, target);
          evaluated++;
          if (decision.kind === 'accepted') {
            snapshot = decision.snapshot;
            persisted = decision.persisted;
            arm(decision, step.at);
          }
          steps.push({ ...base, outcome: outcomeOf(decision) });
          continue;
        }
        const fired = fireDue(definition, snapshot, pending, step.at, target);
        evaluated += fired.evaluated;
        if (fired.snapshot !== snapshot) persisted = fired.persisted;
        snapshot = fired.snapshot;
        steps.push({ ...base, outcome: fired.outcome, firedInstead: fired.sendIds });
        continue;
      }
      const decision = evaluate(definition.machine, snapshot, step.event, target);
      evaluated++;
      if (decision.kind === 'accepted') {
        snapshot = decision.snapshot;
        persisted = decision.persisted;
        arm(decision, step.at);
      }
      steps.push({ ...base, outcome: outcomeOf(decision) });
    } catch (error) {
      return result(stopOf(index, error));
    }
  }
  return result();
}

/** The outcome of an engine decision. */
export function outcomeOf(decision: Decision): StepOutcome {
  if (decision.kind === 'refused') return { accepted: false, state: decision.state, code: decision.code, effects: [], timers: [] };
  return {
    accepted: true,
    state: decision.state,
    effects: decision.effects.map((e) => ({ type: e.type, params: e.params })),
    timers: decision.timers.map((t) => ({ sendId: t.sendId, delayMs: t.delayMs })),
  };
}

/** Fires the pending timers due by `until`, earliest first, each at its due time; sums what they did. */
function fireDue(definition: AnyMachineDefinition, start: AnyMachineSnapshot, pending: Map<string, PendingTimer>, until: number, target: { machine: string; entityId: string }) {
  let snapshot = start;
  let persisted: unknown;
  let evaluated = 0;
  const sendIds: string[] = [];
  const effects: StepOutcome['effects'][number][] = [];
  const timers: StepOutcome['timers'][number][] = [];
  for (let guard = 0; guard < 1000; guard++) {
    let next: PendingTimer | undefined;
    for (const timer of pending.values()) if (timer.dueAt <= until && (!next || timer.dueAt < next.dueAt)) next = timer;
    if (!next) break;
    pending.delete(next.sendId);
    const decision = evaluate(definition.machine, snapshot, next.event, target);
    evaluated++;
    if (decision.kind === 'refused') continue;
    sendIds.push(next.sendId);
    snapshot = decision.snapshot;
    persisted = decision.persisted;
    effects.push(...decision.effects.map((e) => ({ type: e.type, params: e.params })));
    for (const sendId of decision.cancels) pending.delete(sendId);
    for (const t of decision.timers) {
      pending.set(t.sendId, { sendId: t.sendId, event: t.event, dueAt: next.dueAt + t.delayMs });
      timers.push({ sendId: t.sendId, delayMs: t.delayMs });
    }
  }
  const state = stateToString(snapshot.value);
  // The timers the chain left pending (one it armed and fired on the way is not among them).
  const left = timers.filter((t) => pending.has(t.sendId));
  const outcome: StepOutcome =
    sendIds.length > 0 ? { accepted: true, state, effects, timers: left } : { accepted: false, state, code: 'TG_TIMER_SETTLED', effects: [], timers: [] };
  return { snapshot, persisted, outcome, sendIds, evaluated };
}

/** The snapshot stored at `step` (migrated to this version when older) and the timers pending right after it. */
function rebase(definition: AnyMachineDefinition, recorded: RecordedEntity, step: RecordedStep, pending: Map<string, PendingTimer>): AnyMachineSnapshot {
  const { snapshot } = migrateSnapshot(definition, step.snapshot, { machine: recorded.machine, entityId: recorded.id, machineVersion: step.machineVersion });
  pending.clear();
  for (const timer of recorded.timers) {
    const armedBy = recorded.steps.find((s) => s.transitionId === timer.transitionId);
    const armedByThen = armedBy !== undefined && armedBy.seq !== null && step.seq !== null && armedBy.seq <= step.seq;
    const settledThen = timer.settledAt !== null && timer.settledAt <= step.at && timer.status !== 'scheduled';
    if (armedByThen && !settledThen) pending.set(timer.sendId, { sendId: timer.sendId, event: timer.event, dueAt: timer.dueAt });
  }
  return snapshot;
}

function dropLeftTimers(definition: AnyMachineDefinition, snapshot: AnyMachineSnapshot, pending: Map<string, PendingTimer>): void {
  const state = stateToString(snapshot.value);
  for (const sendId of [...pending.keys()]) if (afterTimerActive(definition.machine, state, sendId) === false) pending.delete(sendId);
}

function stopOf(index: number, error: unknown): NonNullable<ReplayResult['stopped']> {
  if (isTollgateError(error)) return { index, code: error.code, message: error.message };
  return { index, code: 'TG_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}
