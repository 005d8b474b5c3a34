import type { AnyStateMachine, StateValue } from 'xstate';
import { afterTimerActive } from '../engine/after-timers.ts';
import type { AnyMachineDefinition } from '../engine/definition.ts';
import { stateToString } from '../engine/state-value.ts';
import { compareOutcomes } from '../replay/compare.ts';
import type { RecordedEntity, RecordedStep } from '../replay/recorded.ts';
import { replayEntity } from '../replay/replay-entity.ts';
import { sameJson } from '../runtime/fingerprint.ts';
import type { DriftFinding } from './drift.ts';

/** What auditing one entity found, and what it cost. */
export interface EntityAudit {
  readonly findings: readonly DriftFinding[];
  /** The history was replayed (false: the entity is of another machine version than the registered one). */
  readonly replayed: boolean;
  /** Transitions evaluated by the replay. */
  readonly evaluated: number;
}

/**
 * Audits one entity against its recorded history, writing nothing (`tollgate audit`, run-audit.ts, reads and
 * checkpoints). Replays the history through the registered machine version with the shared replay engine
 * (src/replay/: the steps of an older version are not replayed, the replay starts from the snapshot the last of them
 * stored), compares every step's recorded outcome and the final snapshot with the replay, checks the latest history
 * row and the state column against the entity, that its state exists, that no scheduled timer belongs to a state it
 * left, and lists its overrides. The effect and timer rows without a transition are found by set queries
 * (store/audit-store.ts), not here.
 *
 * @example
 * const { findings } = auditEntity(machines.subscription, recorded); // [] when clean
 */
export function auditEntity(definition: AnyMachineDefinition, recorded: RecordedEntity): EntityAudit {
  const current = recorded.current;
  if (!current) throw new Error(`auditEntity needs the entity row of ${recorded.machine}/${recorded.id} (recordedEntities loads it)`);
  const findings: DriftFinding[] = [];
  const add = (kind: DriftFinding['kind'], detail: string, seq?: number | null) => findings.push({ kind, detail, ...(seq != null ? { seq } : {}) });

  const committed = recorded.steps.filter((s): s is RecordedStep & { seq: number } => s.seq !== null);
  const head = committed.at(-1);
  if (!head) add('head', `no history row; the entity is at version ${current.version}`);
  else {
    if (head.seq !== current.version) add('head', `the latest history row is seq ${head.seq}; the entity is at version ${current.version}`, head.seq);
    else if (head.outcome && head.outcome.state !== current.state) add('head', `the latest history row goes to '${head.outcome.state}'; the entity is in '${current.state}'`, head.seq);
    else if (head.machineVersion !== current.machineVersion) {
      add('head', `the latest history row is of machine version ${head.machineVersion}; the entity of ${current.machineVersion}`, head.seq);
    }
  }

  const value = (current.snapshot as { value?: StateValue } | null)?.value;
  const snapshotState = value === undefined ? undefined : safe(() => stateToString(value));
  if (snapshotState !== current.state) add('state', `the state column says '${current.state}'; the snapshot is in '${snapshotState ?? '(no state)'}'`);

  const sameVersion = current.machineVersion === definition.version;
  if (sameVersion) {
    const missing = current.state.split(',').filter((leaf) => !hasPath(definition.machine, leaf));
    if (missing.length > 0) add('unknown-state', `machine version ${definition.version} has no state '${missing.join(', ')}'`);
  }

  for (const step of recorded.steps) {
    if (step.kind !== 'override' || step.seq === null) continue;
    const event = step.event as { reason?: unknown; illegal?: unknown };
    const illegal = event.illegal === true;
    add(
      illegal ? 'illegal-override' : 'override',
      `seq ${step.seq}: ${step.fromState ?? '?'} -> ${step.outcome?.state ?? '?'} by ${step.actor ?? 'unknown'}: ${String(event.reason ?? '')}`,
      step.seq,
    );
  }

  for (const timer of recorded.timers) {
    if (timer.status !== 'scheduled' || !sameVersion) continue;
    if (afterTimerActive(definition.machine, current.state, timer.sendId) === false) {
      add('stale-timer', `timer ${timer.id} (${timer.sendId}) is scheduled, but the entity has left its state (it is in '${current.state}')`);
    }
  }

  if (!sameVersion) {
    // Another release's version: nothing to replay it with. The stored snapshot must still be the last row's.
    if (head?.snapshot !== undefined && !sameJson(head.snapshot, current.snapshot)) {
      add('snapshot', `the stored snapshot is not the one its latest history row (seq ${head.seq}) stored`, head.seq);
    }
    return { findings, replayed: false, evaluated: 0 };
  }

  // The steps of older versions were decided by code this release does not have: start after the last of them.
  let fromIndex: number | undefined;
  recorded.steps.forEach((step, index) => {
    if (step.seq !== null && step.machineVersion < definition.version) fromIndex = index;
  });
  const replay = replayEntity(definition, recorded, { onMigration: 'rebase', ...(fromIndex !== undefined ? { fromIndex } : {}) });
  const comparison = compareOutcomes(definition, recorded, replay);
  for (const change of comparison.changes) {
    add('history', `seq ${change.seq ?? '?'} (${change.eventType} in ${change.state}): recorded ${change.before}, the machine gives ${change.after}`, change.seq);
  }
  if (replay.stopped) {
    const step = recorded.steps[replay.stopped.index];
    add('replay-failed', `at seq ${step?.seq ?? '?'}: ${replay.stopped.code}: ${replay.stopped.message}`, step?.seq);
  } else if (!comparison.diverged && replay.snapshot) {
    const live = replay.persisted ?? definition.machine.getPersistedSnapshot(replay.snapshot);
    // A difference is confirmed through JSON, as stored (a Date in the context is a string there).
    if (!sameJson(live, current.snapshot)) {
      const replayed: unknown = JSON.parse(JSON.stringify(live));
      if (!sameJson(replayed, current.snapshot)) add('snapshot', `the stored snapshot differs from the replay of its history: ${firstDifference(current.snapshot, replayed)}`);
    }
  }
  return { findings, replayed: true, evaluated: replay.evaluated };
}

function hasPath(machine: AnyStateMachine, leaf: string): boolean {
  let node = machine.root;
  for (const key of leaf.split('.')) {
    const next = node.states[key];
    if (!next) return false;
    node = next;
  }
  return true;
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** `context.plan: stored "enterprise", replayed "pro"`: the first path where two JSON values differ. */
function firstDifference(stored: unknown, replayed: unknown, path = ''): string {
  if (stored !== null && replayed !== null && typeof stored === 'object' && typeof replayed === 'object' && Array.isArray(stored) === Array.isArray(replayed)) {
    const a = stored as Record<string, unknown>;
    const b = replayed as Record<string, unknown>;
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (!sameJson(a[key], b[key])) return firstDifference(a[key], b[key], path ? `${path}.${key}` : key);
    }
  }
  const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v).slice(0, 80));
  return `${path || '(whole)'}: stored ${show(stored)}, replayed ${show(replayed)}`;
}
