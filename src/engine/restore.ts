import type { AnyActorScope, AnyMachineSnapshot, AnyStateMachine, Snapshot } from 'xstate';
import { TollgateError, entityRef } from '../errors.ts';

/** What names the snapshot being restored, for the error message. */
export interface RestoreTarget {
  readonly machine: string;
  readonly entityId: string;
  readonly machineVersion: number;
}

/**
 * Turns a persisted snapshot (parsed JSON from the database) back into a live XState snapshot.
 *
 * Uses `machine.restoreSnapshot` rather than `resolveState`: only the former revives `historyValue` (history
 * states) from its persisted form; `resolveState` would pass it through unrevived and a later transition to a
 * history state would go to the wrong place. tollgate refuses child actors, so the actor scope is never read.
 */
export function restoreSnapshot(machine: AnyStateMachine, persisted: unknown, target: RestoreTarget): AnyMachineSnapshot {
  try {
    const scope = undefined as unknown as AnyActorScope;
    return machine.restoreSnapshot(persisted as Snapshot<unknown>, scope) as AnyMachineSnapshot;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new TollgateError(
      'TG_SNAPSHOT_INCOMPATIBLE',
      `The stored snapshot of ${entityRef(target.machine, target.entityId)} (machine version ${target.machineVersion}) ` +
        `does not fit the registered machine: ${reason}. Migrate the entity's snapshot or register the machine version ` +
        `that wrote it.`,
      { machine: target.machine, entityId: target.entityId, machineVersion: target.machineVersion, reason },
      { cause },
    );
  }
}
