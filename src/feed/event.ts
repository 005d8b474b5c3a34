import type { FeedRow } from '../store/rows.ts';

/**
 * A lifecycle event: one committed transition as other services receive it, from every sink alike (webhook body,
 * JetStream message data, the argument of an in-process handler). `id` is the transition id: delivery is at least
 * once, so a receiver deduplicates on it.
 */
export interface LifecycleEvent {
  /** The transition id (a UUID): the same on every redelivery. */
  readonly id: string;
  /** `<machine>.transitioned`. */
  readonly type: string;
  readonly machine: string;
  readonly entityId: string;
  /** The entity's transition number: 1 for the creation, then +1 per transition; events of one entity arrive in seq order. */
  readonly seq: number;
  /** The event the gate accepted, with its payload. */
  readonly event: Readonly<{ type: string } & Record<string, unknown>>;
  /** Leaf state paths before (null for the creation) and after, as `EntityView.state` writes them. */
  readonly from: string | null;
  readonly to: string;
  readonly machineVersion: number;
  readonly policyVersion: string | null;
  readonly actor: string | null;
  /** When the gate committed it (ISO-8601). */
  readonly at: string;
  /** The machine's context after the transition, when the consumer was added with `--with-context`. */
  readonly context?: Readonly<Record<string, unknown>>;
}

/** The lifecycle event of a history row. */
export function toLifecycleEvent(row: FeedRow, withContext: boolean): LifecycleEvent {
  const event = (typeof row.event === 'string' ? JSON.parse(row.event) : row.event) as LifecycleEvent['event'];
  const base: LifecycleEvent = {
    id: row.id,
    type: `${row.machine}.transitioned`,
    machine: row.machine,
    entityId: row.entity_id,
    seq: row.seq,
    event,
    from: row.from_state,
    to: row.to_state,
    machineVersion: row.machine_version,
    policyVersion: row.policy_version,
    actor: row.actor,
    at: new Date(row.created_at).toISOString(),
  };
  if (!withContext) return base;
  const snapshot = (typeof row.snapshot === 'string' ? JSON.parse(row.snapshot) : row.snapshot) as { context?: Record<string, unknown> } | null;
  return { ...base, context: snapshot?.context ?? {} };
}

/**
 * Whether a transition touches one of `states` (state paths as `EntityView.state` writes them): one of its leaf
 * paths before or after is that state or inside it (`paused` matches `paused.idle`). Null selects every state.
 */
export function touchesStates(row: Pick<FeedRow, 'from_state' | 'to_state'>, states: readonly string[] | null): boolean {
  if (states === null) return true;
  const leaves = [row.from_state, row.to_state].flatMap((s) => (s === null ? [] : s.split(',')));
  return leaves.some((leaf) => states.some((state) => leaf === state || leaf.startsWith(`${state}.`)));
}
