import type { AnyMachineSnapshot, StateValue } from 'xstate';
import { nextEvents } from '../engine/accepted-events.ts';
import type { EntityView } from '../entity-view.ts';
import type { EffectFollowUpOutcome, EffectRetryRecord, EffectRow, RejectionRow, TimerRow, TransitionRow } from '../store/rows.ts';

export type { EntityView } from '../entity-view.ts';

/** One committed transition of the history. */
export interface TransitionView {
  /** With `history(..., { withSnapshots: true })`: the entity right after this transition. */
  readonly snapshot?: { readonly value: StateValue; readonly status: string; readonly context: unknown };
  readonly id: string;
  readonly machine: string;
  readonly entityId: string;
  readonly seq: number;
  readonly eventType: string;
  readonly event: Readonly<Record<string, unknown>>;
  readonly fromState: string | null;
  readonly toState: string;
  readonly idempotencyKey: string | null;
  readonly actor: string | null;
  readonly machineVersion: number;
  readonly policyVersion: string | null;
  readonly createdAt: string;
}

/** A side effect and where it stands. */
export interface EffectView {
  /** Stable id: pass it to outside providers as their idempotency key. */
  readonly id: string;
  readonly transitionId: string;
  readonly seq: number;
  readonly type: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly status: EffectRow['status'];
  readonly attempts: number;
  readonly result: unknown;
  readonly error: unknown;
  readonly createdAt: string;
  readonly dispatchedAt: string | null;
  readonly completedAt: string | null;
  /**
   * The event the effect's outcome sends through the gate (the handler's follow-up, or the machine's compensation
   * when it failed), and what the gate answered: `outcome` is null until the worker has sent it. An effect is done
   * with its entity once it is completed or failed and this is null or has an outcome.
   */
  readonly followUp: { readonly event: { readonly type: string } & Readonly<Record<string, unknown>>; readonly outcome: EffectFollowUpOutcome | null } | null;
  /** Operator retries of this effect after it failed, oldest first: who, why, when, and the failure each set aside. */
  readonly retries: readonly EffectRetryRecord[];
}

/** A durable delayed event. */
export interface TimerView {
  readonly id: string;
  readonly transitionId: string;
  readonly sendId: string;
  readonly eventType: string;
  /** The event the timer sends when it fires (a delayed `raise` may carry a payload). */
  readonly event: Readonly<{ type: string } & Record<string, unknown>>;
  readonly dueAt: string;
  readonly status: TimerRow['status'];
  readonly createdAt: string;
  readonly settledAt: string | null;
}

/** A refused attempt, kept for audit. */
export interface RejectionView {
  readonly code: string;
  readonly state: string | null;
  readonly eventType: string;
  readonly message: string;
  readonly idempotencyKey: string | null;
  readonly actor: string | null;
  readonly at: string;
}

export interface EntityFacts {
  readonly machine: string;
  readonly id: string;
  readonly snapshot: AnyMachineSnapshot;
  readonly state: string;
  readonly version: number;
  readonly machineVersion: number;
  readonly stateEnteredAt: Date;
}

/**
 * The caller's view of an entity. `callerEvents` are the machine's declared event types (`definition.events`):
 * what a wildcard descriptor of the state can receive, listed in `nextEvents`.
 */
export function toEntityView(facts: EntityFacts, callerEvents: Readonly<Record<string, unknown>>): EntityView {
  return {
    machine: facts.machine,
    id: facts.id,
    value: facts.snapshot.value,
    state: facts.state,
    status: facts.snapshot.status === 'done' ? 'done' : 'active',
    context: facts.snapshot.context as Record<string, unknown>,
    version: facts.version,
    machineVersion: facts.machineVersion,
    stateEnteredAt: facts.stateEnteredAt.toISOString(),
    nextEvents: nextEvents(facts.snapshot, Object.keys(callerEvents)),
  };
}

export function toTransitionView(row: TransitionRow): TransitionView {
  return {
    id: row.id,
    machine: row.machine,
    entityId: row.entity_id,
    seq: row.seq,
    eventType: row.event_type,
    event: row.event as Record<string, unknown>,
    fromState: row.from_state,
    toState: row.to_state,
    idempotencyKey: row.idempotency_key,
    actor: row.actor,
    machineVersion: row.machine_version,
    policyVersion: row.policy_version,
    createdAt: iso(row.created_at),
  };
}

export function toEffectView(row: EffectRow): EffectView {
  return {
    id: row.id,
    transitionId: row.transition_id,
    seq: row.seq,
    type: row.type,
    params: row.params,
    status: row.status,
    attempts: row.attempts,
    result: row.result,
    error: row.error,
    createdAt: iso(row.created_at),
    dispatchedAt: row.dispatched_at && iso(row.dispatched_at),
    completedAt: row.completed_at && iso(row.completed_at),
    followUp: row.follow_up && { event: row.follow_up, outcome: row.follow_up_outcome },
    retries: row.retry_log ?? [],
  };
}

export function toTimerView(row: TimerRow): TimerView {
  return {
    id: row.id,
    transitionId: row.transition_id,
    sendId: row.send_id,
    eventType: row.event.type,
    event: row.event,
    dueAt: iso(row.due_at),
    status: row.status,
    createdAt: iso(row.created_at),
    settledAt: row.settled_at && iso(row.settled_at),
  };
}

export function toRejectionView(row: RejectionRow): RejectionView {
  return {
    code: row.code,
    state: row.state,
    eventType: row.event_type,
    message: row.message,
    idempotencyKey: row.idempotency_key,
    actor: row.actor,
    at: iso(row.at),
  };
}

/** Drivers return Date for timestamptz; be tolerant of strings. */
export function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
