import type { EventObject } from 'xstate';
import type { EntityView } from '../entity-view.ts';

/** What a policy decides about one event for one entity, now. */
export type PolicyDecision = { readonly allow: true } | { readonly allow: false; readonly reason: string };

/**
 * Business rules evaluated before the engine: the machine says what is structurally legal, the policy says what
 * is allowed *now* (a regulatory hold, a plan rule). Denials are recorded and counted, and write nothing else.
 *
 * @example
 * const policy: Policy = {
 *   version: '2026-11-01',
 *   check: ({ machine, event }) =>
 *     machine === 'payout' && event.type === 'SUBMIT' && isHoliday() ? { allow: false, reason: 'payouts paused' } : { allow: true },
 * };
 */
export interface Policy {
  /** Recorded on every transition it allowed, so the history says which rules applied. */
  readonly version: string;
  check(request: PolicyRequest): PolicyDecision | Promise<PolicyDecision>;
}

/** What a policy's `check` is asked about: one event for one entity, before the gate commits it. */
export interface PolicyRequest {
  /** The machine's registered name. */
  readonly machine: string;
  /** The entity as it is now (before the event). */
  readonly entity: EntityView;
  /** The event, as sent (validated against the machine's event schema). */
  readonly event: EventObject;
  /** Milliseconds since the epoch, from the runtime's clock. */
  readonly now: number;
}
