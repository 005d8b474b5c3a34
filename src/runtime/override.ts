import type { StateValue } from 'xstate';
import { TollgateError, entityRef } from '../errors.ts';
import { stateToString } from '../engine/state-value.ts';
import { overrideStore } from '../store/override-store.ts';
import { pgErrorCode } from '../store/sql-client.ts';
import { checkIdentifier } from './identifier.ts';
import { machineOf, type RuntimeContext } from './runtime-context.ts';

/** A person's repair of one entity (docs/governance.md). */
export interface OverrideRequest {
  readonly machine: string;
  readonly id: string;
  /** The state to put the entity in, as stored (`paused.idle`; parallel leaves joined by `,`). */
  readonly state: string;
  /** Why: recorded in the `overrides` row and the `$override` history row. */
  readonly reason: string;
  /** Allow a state no single event reaches from the current one (audited as illegal). Default false. */
  readonly illegal?: boolean;
  /** Context members to set (merged over the current context). Default: none. */
  readonly context?: Readonly<Record<string, unknown>>;
}

/** What an override did. */
export interface OverrideResult {
  readonly from: string;
  readonly to: string;
  /** The entity's version after the override (the `$override` history row's seq). */
  readonly version: number;
  /** Scheduled timers of the entity that were cancelled (their state was left). */
  readonly cancelledTimers: number;
}

/** `'paused.idle'` -> `{ paused: 'idle' }`; leaf paths joined by `,` merge into one value. */
export function stateValueOf(state: string): StateValue {
  const root: Record<string, unknown> = {};
  const paths = state.split(',').map((p) => p.split('.'));
  if (paths.length === 1 && paths[0]?.length === 1) return paths[0][0] as string;
  for (const path of paths) {
    let node = root;
    path.forEach((key, i) => {
      if (i === path.length - 2) node[key] = path[i + 1];
      else if (i < path.length - 2) node = (node[key] ??= {}) as Record<string, unknown>;
    });
  }
  return root as StateValue;
}

/**
 * Moves an entity to `state` outside the gate, as a person repairing data does: in one transaction it sets
 * `tollgate.override` (and `tollgate.override_illegal` when asked), writes the entity's state and a snapshot of
 * the machine resolved in that state, and cancels the entity's scheduled timers. The database trigger checks the
 * move is one event's (unless illegal is allowed) and writes the audit and `$override` history rows. Entry actions
 * and the new state's timers are not run: an override is a repair, not a transition.
 */
export async function overrideEntity(ctx: RuntimeContext, request: OverrideRequest): Promise<OverrideResult> {
  const definition = machineOf(ctx, request.machine);
  const id = checkIdentifier('entity id', request.id, request.machine);
  const reason = request.reason.trim();
  if (!reason) throw new TollgateError('TG_INVALID_ARGUMENT', 'An override needs a reason.', { argument: 'reason' });
  try {
    const result = await overrideStore(ctx.client, ctx.schema).override({ machine: request.machine, id, reason, illegal: request.illegal === true }, (row) => {
      let snapshot;
      try {
        const resolved = definition.machine.resolveState({ value: stateValueOf(request.state), context: { ...(row.snapshot.context ?? {}), ...(request.context ?? {}) } });
        snapshot = definition.machine.getPersistedSnapshot(resolved) as unknown as { value: StateValue };
      } catch (error) {
        throw new TollgateError(
          'TG_INVALID_ARGUMENT',
          `'${request.state}' is not a state of machine '${request.machine}' version ${definition.version}: ${(error as Error).message}`,
          { machine: request.machine, entityId: id, argument: 'state' },
        );
      }
      return { state: stateToString(snapshot.value), snapshot };
    });
    if (!result) throw new TollgateError('TG_ENTITY_NOT_FOUND', `No entity ${entityRef(request.machine, id)} exists.`, { machine: request.machine, entityId: id });
    ctx.cache.delete(request.machine, id);
    return result;
  } catch (error) {
    // restrict_violation: the trigger refused the move (no event leads there in one step).
    if (pgErrorCode(error) === '23001') {
      throw new TollgateError('TG_OVERRIDE_REFUSED', (error as Error).message.replace(/^tollgate: /, ''), { machine: request.machine, entityId: id, state: request.state });
    }
    throw error;
  }
}
