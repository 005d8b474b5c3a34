import type { AnyMachineDefinition } from '../engine/definition.ts';
import { entityRef, isTollgateError, TollgateError } from '../errors.ts';
import type { RuntimeContext } from './runtime-context.ts';

/**
 * How long a worker leaves work it cannot judge before looking again: long enough not to spin, short enough that
 * a rolling deploy's new workers take it soon.
 */
export const deploySkewRetryMs = 30_000;

/**
 * True when this process cannot judge the event, rather than the entity refusing it: the runtime here does not know
 * the machine (`TG_UNKNOWN_MACHINE`), a state of the stored snapshot (`TG_SNAPSHOT_INCOMPATIBLE`) or the active policy
 * version (`TG_POLICY_UNAVAILABLE`, `unknown-version`), or the entity
 * was written by a newer version of the machine (`TG_MACHINE_VERSION_AHEAD`: its new events, timers and states may
 * be unknown here). During a rolling deploy that is an older worker taking a newer release's work. Workers must
 * leave such work open for a worker that knows (retry later), never settle it: a timer marked stale or a follow-up
 * recorded as rejected is never tried again. Counted in `tollgate_deploy_skew_deferred_total`, which stays flat
 * once a rollout is over; if it does not, the work waits for a release that is not coming (a machine or a state
 * removed without a migration) and needs a person.
 */
export function isDeploySkew(error: unknown): error is TollgateError {
  return (
    isTollgateError(error, 'TG_UNKNOWN_MACHINE') ||
    isTollgateError(error, 'TG_SNAPSHOT_INCOMPATIBLE') ||
    isTollgateError(error, 'TG_MACHINE_VERSION_AHEAD') ||
    // The active policy version is a newer release's (policy/policies.ts).
    (isTollgateError(error, 'TG_POLICY_UNAVAILABLE') && error.details.reason === 'unknown-version')
  );
}

/** How the system's own processes (the workers) sort an error of the gate. */
export type GateErrorClass =
  /** This process cannot judge it (a rolling deploy, see isDeploySkew): leave the work for one that can. */
  | { readonly kind: 'skew'; readonly error: TollgateError }
  /** A freeze holds it (TG_FROZEN): the system's own work waits it out. */
  | { readonly kind: 'frozen'; readonly error: TollgateError }
  /** A coded refusal that will not change on retry: the gate recorded it. */
  | { readonly kind: 'final'; readonly error: TollgateError }
  /** Anything else (a conflict, the database): retry. */
  | { readonly kind: 'retry' };

/** Sorts an error of the gate into rollout skew, freeze, final refusal or retry: one rule for every worker. */
export function classifyGateError(error: unknown): GateErrorClass {
  if (isDeploySkew(error)) return { kind: 'skew', error };
  if (isTollgateError(error, 'TG_FROZEN')) return { kind: 'frozen', error };
  if (isTollgateError(error) && !error.retryable) return { kind: 'final', error };
  return { kind: 'retry' };
}

/**
 * How long the system's own work that meets a freeze (a timer's firing, an effect's follow-up) waits before it
 * is sent again: it stays scheduled (the timer row, the effect's unsent follow-up), so it is applied within about
 * this long after the unfreeze, and never dropped.
 */
export const frozenRetryMs = 1_000;

/**
 * Whether work of machine version `version` (a stored entity's, a queued event's) is a newer release's, which this
 * runtime leaves to that release (unless it accepts newer versions, after a rollback).
 */
export function refusesVersion(ctx: Pick<RuntimeContext, 'acceptNewerMachineVersions'>, definition: AnyMachineDefinition, version: number): boolean {
  return version > definition.version && !ctx.acceptNewerMachineVersions;
}

/** The error for an event of machine version `theirs` (the entity's, or the producer's) in a runtime at `mine`. */
export function versionAhead(machine: string, entityId: string, theirs: number, mine: number, what: string): TollgateError {
  return new TollgateError(
    'TG_MACHINE_VERSION_AHEAD',
    `${what} of ${entityRef(machine, entityId)} is of machine version ${theirs}, and this process runs version ${mine} ` +
      `(a rolling deploy in progress?). Nothing was written; retry: a process of the newer release will take it.`,
    { machine, entityId, machineVersion: theirs, runtimeMachineVersion: mine },
  );
}

/**
 * TG_MACHINE_VERSION_AHEAD if the stored entity was written by a newer version of its machine (and the runtime does
 * not accept newer versions): for an event this runtime cannot parse, which may be one only that version knows.
 */
export async function throwIfWrittenByNewerVersion(ctx: RuntimeContext, definition: AnyMachineDefinition, machine: string, id: string): Promise<void> {
  if (ctx.acceptNewerMachineVersions) return;
  const row = await ctx.queries.loadEntity(machine, id);
  if (row && refusesVersion(ctx, definition, row.machine_version)) throw versionAhead(machine, id, row.machine_version, definition.version, 'The stored entity');
}
