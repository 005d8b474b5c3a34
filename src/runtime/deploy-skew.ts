import { isTollgateError } from '../errors.ts';

/**
 * How long a worker leaves work it cannot judge before looking again: long enough not to spin, short enough that
 * a rolling deploy's new workers take it soon.
 */
export const deploySkewRetryMs = 30_000;

/**
 * True when this process cannot judge the event, rather than the entity refusing it: the runtime here does not know
 * the machine (`TG_UNKNOWN_MACHINE`) or a state of the stored snapshot (`TG_SNAPSHOT_INCOMPATIBLE`). During a
 * rolling deploy that is an older worker taking a newer release's work. Workers must leave such work open for a
 * worker that knows (retry later), never settle it: a timer marked stale or a follow-up recorded as rejected is
 * never tried again.
 */
export function isDeploySkew(error: unknown): boolean {
  return isTollgateError(error, 'TG_UNKNOWN_MACHINE') || isTollgateError(error, 'TG_SNAPSHOT_INCOMPATIBLE');
}
