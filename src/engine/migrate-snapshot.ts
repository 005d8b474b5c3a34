import type { AnyActorScope, AnyMachineSnapshot, Snapshot } from 'xstate';
import { TollgateError, entityRef } from '../errors.ts';
import type { AnyMachineDefinition, PersistedSnapshot } from './definition.ts';
import { restoreSnapshot, type RestoreTarget } from './restore.ts';
import { stateToString } from './state-value.ts';

/** A persisted snapshot carried to the definition's version. */
export interface MigratedSnapshot {
  /** The live snapshot under the definition's machine. */
  readonly snapshot: AnyMachineSnapshot;
  /** Its persisted (JSON-safe) form: what is stored. */
  readonly persisted: unknown;
  /** The versions whose hop ran, in order (empty: nothing to migrate, the stored snapshot was restored as is). */
  readonly hops: readonly number[];
}

/** The versions from `fromVersion` up to the definition's whose migration hop exists, in order. */
export function migrationHops(definition: AnyMachineDefinition, fromVersion: number): number[] {
  const hops: number[] = [];
  const migrations = definition.migrations;
  if (!migrations) return hops;
  for (let v = fromVersion; v < definition.version; v++) if (typeof migrations[v] === 'function') hops.push(v);
  return hops;
}

/**
 * Restores a stored snapshot of machine version `target.machineVersion` under the definition, applying the
 * definition's migration hops from that version on. Pure. A hop that throws, or a result that does not restore to
 * exactly the state it names (an unknown state, or a compound state without its child: XState would silently enter
 * the initial child without its entry actions and timers), is `TG_MIGRATION_FAILED`; without hops a snapshot that
 * does not restore is `TG_SNAPSHOT_INCOMPATIBLE` (restore.ts).
 *
 * @example
 * const { snapshot, hops } = migrateSnapshot(definition, row.snapshot, { machine: 'subscription', entityId: 's1', machineVersion: 1 });
 */
export function migrateSnapshot(definition: AnyMachineDefinition, persisted: unknown, target: RestoreTarget): MigratedSnapshot {
  const hops = target.machineVersion < definition.version ? migrationHops(definition, target.machineVersion) : [];
  if (hops.length === 0) return { snapshot: restoreSnapshot(definition.machine, persisted, target), persisted, hops };
  let current = structuredClone(persisted) as PersistedSnapshot;
  for (const hop of hops) {
    try {
      current = definition.migrations![hop]!(current);
    } catch (cause) {
      throw migrationFailed(target, hop, `its migration threw: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
    }
    if (typeof current !== 'object' || current === null || current.value === undefined || typeof current.context !== 'object') {
      throw migrationFailed(target, hop, 'its migration did not return a snapshot with a value and a context');
    }
  }
  let snapshot: AnyMachineSnapshot;
  try {
    snapshot = definition.machine.restoreSnapshot({ children: {}, ...current } as unknown as Snapshot<unknown>, undefined as unknown as AnyActorScope) as AnyMachineSnapshot;
  } catch (cause) {
    throw migrationFailed(target, hops.at(-1)!, `its result does not fit version ${definition.version}: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
  }
  const named = stateToString(current.value);
  const restored = stateToString(snapshot.value);
  if (named !== restored) {
    throw migrationFailed(target, hops.at(-1)!, `its result names state '${named}', which version ${definition.version} only restores as '${restored}' (name the leaf state)`);
  }
  return { snapshot, persisted: definition.machine.getPersistedSnapshot(snapshot), hops };
}

/**
 * The state a stored snapshot of version `fromVersion` names once the definition's migration hops have run: only the
 * hops, no restore (a replay comparing recorded states with replayed ones needs the name, once per recorded step, and
 * restoring each was most of its cost). Throws what the hop throws; a hop that returns no value gives undefined.
 */
export function migratedStateOf(definition: AnyMachineDefinition, persisted: unknown, fromVersion: number): string | undefined {
  let current = structuredClone(persisted) as PersistedSnapshot;
  for (const hop of migrationHops(definition, fromVersion)) {
    current = definition.migrations![hop]!(current);
    if (typeof current !== 'object' || current === null || current.value === undefined) return undefined;
  }
  return stateToString(current.value as AnyMachineSnapshot['value']);
}

/**
 * Whether restoring `persisted` under the machine keeps exactly the state it names. XState restores a compound
 * state named without its child (a leaf state turned compound) by entering the initial child silently; such an
 * entity has no timers for the state it is shown in.
 */
export function restoresExactly(snapshot: AnyMachineSnapshot, persisted: unknown): boolean {
  const value = (persisted as { value?: unknown } | null)?.value;
  return value !== undefined && stateToString(value as AnyMachineSnapshot['value']) === stateToString(snapshot.value);
}

function migrationFailed(target: RestoreTarget, hop: number, reason: string, cause?: unknown): TollgateError {
  return new TollgateError(
    'TG_MIGRATION_FAILED',
    `Migrating ${entityRef(target.machine, target.entityId)} from machine version ${hop} to ${hop + 1} failed: ${reason}. ` +
      `The entity was left as it is; fix the migration and run it again.`,
    { machine: target.machine, entityId: target.entityId, machineVersion: target.machineVersion, fromVersion: hop, reason },
    cause === undefined ? undefined : { cause },
  );
}
