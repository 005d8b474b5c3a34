import { migrateSnapshot } from '../engine/migrate-snapshot.ts';
import { stateToString } from '../engine/state-value.ts';
import { TollgateError, entityRef } from '../errors.ts';
import type { AnyMachineDefinition } from '../engine/definition.ts';
import type { RuntimeContext } from './runtime-context.ts';
import { refusesVersion, versionAhead } from './deploy-skew.ts';
import type { LoadedEntity } from './snapshot-cache.ts';
import { toEntityView, type EntityView } from './views.ts';

/**
 * Reads an entity and restores its snapshot, migrated in memory when an older machine version wrote it and the
 * definition has migrations for it (TG_MIGRATION_FAILED if one fails); TG_ENTITY_NOT_FOUND if there is none.
 * Refreshes the cache. `forWrite`:
 * an entity a newer version of the machine wrote is refused with TG_MACHINE_VERSION_AHEAD before its snapshot is
 * restored (which could fail on a state only the newer release has), unless the runtime accepts newer versions.
 */
export async function loadEntity(
  ctx: RuntimeContext,
  definition: AnyMachineDefinition,
  machine: string,
  id: string,
  options: { forWrite?: boolean } = {},
): Promise<LoadedEntity> {
  const row = await ctx.queries.loadEntity(machine, id);
  if (!row) {
    throw new TollgateError(
      'TG_ENTITY_NOT_FOUND',
      `No entity ${entityRef(machine, id)} exists. Create it first (create('${machine}', '${id}', input)).`,
      { machine, entityId: id },
    );
  }
  if (options.forWrite && refusesVersion(ctx, definition, row.machine_version)) {
    throw versionAhead(machine, id, row.machine_version, definition.version, 'The stored entity');
  }
  const loaded = restoreStored(definition, machine, id, row);
  ctx.cache.set(machine, id, loaded);
  return loaded;
}

/** What every stored version of an entity carries: its row, or a history row's snapshot after the transition. */
export interface StoredEntity {
  readonly snapshot: unknown;
  readonly state: string;
  readonly version: number;
  readonly machine_version: number;
  readonly state_entered_at: Date | string;
}

/**
 * A stored entity restored: its snapshot migrated in memory when an older machine version wrote it (reads show it
 * migrated, a send commits the migration: gate.ts), TG_MIGRATION_FAILED if a migration fails.
 */
export function restoreStored(definition: AnyMachineDefinition, machine: string, id: string, row: StoredEntity): LoadedEntity {
  const migrated = migrateSnapshot(definition, row.snapshot, { machine, entityId: id, machineVersion: row.machine_version });
  const stateEnteredAt = new Date(row.state_entered_at);
  if (migrated.hops.length === 0) {
    return { version: row.version, machineVersion: row.machine_version, snapshot: migrated.snapshot, state: row.state, stateEnteredAt };
  }
  return {
    version: row.version,
    machineVersion: definition.version,
    snapshot: migrated.snapshot,
    state: stateToString(migrated.snapshot.value),
    stateEnteredAt,
    migratedFrom: { machineVersion: row.machine_version, state: row.state, snapshot: row.snapshot },
  };
}

/** The view of a stored entity (`get`, the entity list, a replayed send's answer): restored, then shown. */
export function storedEntityView(definition: AnyMachineDefinition, machine: string, id: string, row: StoredEntity): EntityView {
  return toEntityView({ machine, id, ...restoreStored(definition, machine, id, row) }, definition.events);
}
