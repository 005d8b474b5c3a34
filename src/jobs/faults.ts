/**
 * Named fault points (DBOS `debugpoint.ts`): places where a test can stop or kill a process to set up a race.
 * Each name says what the stop sets up. Production never installs a hook, so a fault point costs one check.
 */
export type FaultPoint =
  /** The relay claimed rows (marked them dispatched, committed) and has not added their jobs yet. */
  | 'relay.after-claim-before-enqueue'
  /** A commit wrote its effects dispatched and handed them to this process's relay, which has not added them yet. */
  | 'relay.after-commit-before-add'
  /** The gate looked up a send's idempotency key, found no commit, and has not loaded the entity yet. */
  | 'gate.after-key-check'
  /** An effect handler is running (the worker checked the row, ran nothing to completion yet). */
  | 'effect.mid-handler'
  /** The handler succeeded; the completion is not yet recorded in Postgres. */
  | 'effect.before-record';

let hook: ((point: FaultPoint) => void | Promise<void>) | undefined;

/** Installs (or removes) the fault hook of this process. Tests and test fixtures only. */
export function setFaultHook(fn: ((point: FaultPoint) => void | Promise<void>) | undefined): void {
  hook = fn;
}

/** Marks a fault point. */
export async function faultPoint(point: FaultPoint): Promise<void> {
  if (hook) await hook(point);
}
