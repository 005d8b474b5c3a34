import { restoreSnapshot } from '../engine/restore.ts';
import { TollgateError, entityRef } from '../errors.ts';
import type { AnyMachineDefinition } from '../engine/definition.ts';
import type { RuntimeContext } from './runtime-context.ts';
import { refusesVersion, versionAhead } from './deploy-skew.ts';
import type { CachedEntity } from './snapshot-cache.ts';

/**
 * Reads an entity and restores its snapshot; TG_ENTITY_NOT_FOUND if there is none. Refreshes the cache. `forWrite`:
 * an entity a newer version of the machine wrote is refused with TG_MACHINE_VERSION_AHEAD before its snapshot is
 * restored (which could fail on a state only the newer release has), unless the runtime accepts newer versions.
 */
export async function loadEntity(
  ctx: RuntimeContext,
  definition: AnyMachineDefinition,
  machine: string,
  id: string,
  options: { forWrite?: boolean } = {},
): Promise<CachedEntity> {
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
  const loaded: CachedEntity = {
    version: row.version,
    machineVersion: row.machine_version,
    snapshot: restoreSnapshot(definition.machine, row.snapshot, { machine, entityId: id, machineVersion: row.machine_version }),
    state: row.state,
    stateEnteredAt: new Date(row.state_entered_at),
  };
  ctx.cache.set(machine, id, loaded);
  return loaded;
}
