import type { AnyMachineSnapshot, EventObject } from 'xstate';
import { afterTimersOf } from '../engine/after-timers.ts';
import type { AnyMachineDefinition } from '../engine/definition.ts';
import { migrateSnapshot, restoresExactly } from '../engine/migrate-snapshot.ts';
import { TollgateError, entityRef } from '../errors.ts';
import { stateToString } from '../engine/state-value.ts';
import type { CommitInput } from '../store/commit.ts';
import type { TimerRow } from '../store/rows.ts';
import { migratedEventType } from '../store/history-reads.ts';
import { fingerprint } from './fingerprint.ts';

export { migratedEventType } from '../store/history-reads.ts';

/** What a migration did to one timer of the entity. */
export interface TimerChange {
  readonly sendId: string;
  /**
   * `kept`: the new version has the same delay for it; `rearmed`: another delay, due again from the time its state
   * was entered; `cancelled`: no state the entity is in has it now; `armed`: a timer of a state the entity is in now
   * that it had none of (a split or renamed state), due from the entity's state entry time.
   */
  readonly action: 'kept' | 'rearmed' | 'cancelled' | 'armed';
  /** When it is due after the migration (absent for `cancelled`). ISO-8601. */
  readonly dueAt?: string;
}

/** A migration of one entity, ready to commit as its `$migrated` history row. */
export interface MigrationPlan {
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly fromState: string;
  readonly toState: string;
  readonly snapshot: AnyMachineSnapshot;
  readonly persisted: unknown;
  readonly timers: readonly TimerChange[];
  /** New timer rows (armed, rearmed) and the sendIds whose scheduled rows are cancelled (rearmed, cancelled). */
  readonly arm: ReadonlyArray<{ sendId: string; event: EventObject; dueAt: Date }>;
  readonly cancel: readonly string[];
}

/** The stored entity a migration starts from. */
export interface MigrationSource {
  readonly machine: string;
  readonly id: string;
  readonly machineVersion: number;
  readonly state: string;
  readonly snapshot: unknown;
  readonly stateEnteredAt: Date;
}

/**
 * Plans the migration of a stored entity to the definition's version (pure; throws TG_MIGRATION_FAILED): the
 * migrated snapshot, and its timers re-derived from the new version's `after` in the states it is in. A scheduled
 * `after` timer is kept when its delay is unchanged, re-armed from the time it was armed (its state's entry) when
 * the delay changed, and cancelled when no state it is in has it; an `after` timer of a state the entity is in that
 * has no timer row since the entity entered its state is armed from that entry time. Other delayed events (a
 * `raise` with a delay) are kept as they are.
 */
export function planMigration(definition: AnyMachineDefinition, source: MigrationSource, timerRows: readonly TimerRow[]): MigrationPlan {
  const target = { machine: source.machine, entityId: source.id, machineVersion: source.machineVersion };
  const migrated = migrateSnapshot(definition, source.snapshot, target);
  if (!restoresExactly(migrated.snapshot, migrated.persisted)) {
    throw new TollgateError(
      'TG_MIGRATION_FAILED',
      `${entityRef(source.machine, source.id)} is in state '${source.state}' (machine version ${source.machineVersion}), which version ` +
        `${definition.version} restores only as '${stateToString(migrated.snapshot.value)}' (a compound state now): add a migration that names the leaf state.`,
      { ...target, fromVersion: source.machineVersion, state: source.state },
    );
  }
  const derived = new Map(afterTimersOf(definition.machine, migrated.snapshot).map((t) => [t.sendId, t]));
  const timers: TimerChange[] = [];
  const arm: Array<{ sendId: string; event: EventObject; dueAt: Date }> = [];
  const cancel: string[] = [];
  const enteredAt = source.stateEnteredAt.getTime();
  for (const row of timerRows) {
    if (row.status !== 'scheduled' || !row.send_id.startsWith('xstate.after.')) continue;
    const wanted = derived.get(row.send_id);
    const armedAt = new Date(row.created_at).getTime();
    if (!wanted) {
      cancel.push(row.send_id);
      timers.push({ sendId: row.send_id, action: 'cancelled' });
    } else if (new Date(row.due_at).getTime() - armedAt === wanted.delayMs) {
      timers.push({ sendId: row.send_id, action: 'kept', dueAt: new Date(row.due_at).toISOString() });
    } else {
      const dueAt = new Date(armedAt + wanted.delayMs);
      cancel.push(row.send_id);
      arm.push({ sendId: row.send_id, event: wanted.event, dueAt });
      timers.push({ sendId: row.send_id, action: 'rearmed', dueAt: dueAt.toISOString() });
    }
  }
  for (const wanted of derived.values()) {
    const seen = timerRows.some((row) => row.send_id === wanted.sendId && (row.status === 'scheduled' || new Date(row.created_at).getTime() >= enteredAt));
    if (seen) continue;
    const dueAt = new Date(enteredAt + wanted.delayMs);
    arm.push({ sendId: wanted.sendId, event: wanted.event, dueAt });
    timers.push({ sendId: wanted.sendId, action: 'armed', dueAt: dueAt.toISOString() });
  }
  return {
    fromVersion: source.machineVersion,
    toVersion: definition.version,
    fromState: source.state,
    toState: stateToString(migrated.snapshot.value),
    snapshot: migrated.snapshot,
    persisted: migrated.persisted,
    timers,
    arm,
    cancel,
  };
}

/** The `$migrated` history row's event: versions and what happened to each timer. */
export function migratedEvent(plan: MigrationPlan): EventObject & { from: number; to: number; timers: readonly TimerChange[] } {
  return { type: migratedEventType, from: plan.fromVersion, to: plan.toVersion, timers: plan.timers };
}

/**
 * The commit of a migration: the entity's new snapshot and version and a `$migrated` history row, the re-derived
 * timers armed and cancelled, through the gate's one commit statement (so it passes whatever the gate passes). Its
 * idempotency key `$migrated:<from>-><to>` makes the same migration commit at most once per entity, whoever (a send,
 * a bulk run) gets there first.
 */
export function migrationCommit(plan: MigrationPlan, at: { machine: string; id: string; expectedVersion: number; transitionId: string; now: Date; policyVersion: string | null; actor: string | null }): CommitInput {
  const event = migratedEvent(plan);
  return {
    machine: at.machine,
    entityId: at.id,
    expectedVersion: at.expectedVersion,
    machineVersion: plan.toVersion,
    snapshot: plan.persisted,
    state: plan.toState,
    // The entity did not move: its time in state goes on.
    stateChanged: false,
    now: at.now,
    transitionId: at.transitionId,
    event,
    fromState: plan.fromState,
    idempotencyKey: migrationKey(plan.fromVersion, plan.toVersion),
    fingerprint: fingerprint(event),
    actor: at.actor,
    policyVersion: at.policyVersion,
    effects: [],
    timers: plan.arm.map((t, i) => ({ id: `${at.transitionId}-t${i}`, send_id: t.sendId, event: t.event, due_at: t.dueAt.toISOString() })),
    cancels: plan.cancel,
    firedTimerId: null,
  };
}

/** The idempotency key of the migration of an entity from version `from` to `to`. */
export function migrationKey(from: number, to: number): string {
  return `$migrated:${from}->${to}`;
}
