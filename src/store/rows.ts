/** Rows as the store reads them (snake_case columns as selected). */

export interface EntityRow {
  readonly machine: string;
  readonly id: string;
  readonly machine_version: number;
  readonly snapshot: unknown;
  readonly state: string;
  readonly version: number;
  readonly state_entered_at: Date;
  readonly created_at: Date;
  readonly updated_at: Date;
}

export interface TransitionRow {
  readonly id: string;
  readonly machine: string;
  readonly entity_id: string;
  readonly seq: number;
  readonly event_type: string;
  readonly event: unknown;
  readonly from_state: string | null;
  readonly to_state: string;
  readonly snapshot: unknown;
  readonly state_entered_at: Date;
  readonly idempotency_key: string | null;
  readonly fingerprint: string;
  readonly machine_version: number;
  readonly policy_version: string | null;
  readonly actor: string | null;
  readonly created_at: Date;
}

/** What the gate answered for an effect's follow-up or compensation event. */
export type EffectFollowUpOutcome =
  | { readonly status: 'committed' | 'replayed'; readonly transitionId: string; readonly state: unknown }
  | { readonly status: 'rejected'; readonly code: string; readonly message: string };

export interface EffectRow {
  readonly id: string;
  readonly transition_id: string;
  readonly machine: string;
  readonly entity_id: string;
  readonly seq: number;
  readonly idx: number;
  readonly type: string;
  readonly params: Record<string, unknown>;
  readonly status: 'pending' | 'dispatched' | 'completed' | 'failed';
  readonly attempts: number;
  readonly result: unknown;
  readonly error: unknown;
  readonly compensated: boolean;
  readonly follow_up: ({ type: string } & Record<string, unknown>) | null;
  readonly follow_up_outcome: EffectFollowUpOutcome | null;
  readonly created_at: Date;
  readonly dispatched_at: Date | null;
  readonly completed_at: Date | null;
  /** Operator retries of the failed effect so far (see EffectRetry). */
  readonly retries: number;
  readonly retry_log: EffectRetryRecord[];
}

/** One operator retry of a failed effect: who, why, when, and the failure it set aside. */
export interface EffectRetryRecord {
  readonly by: string | null;
  readonly reason: string;
  readonly at: string;
  readonly attempts: number;
  readonly error: unknown;
  readonly followUp: unknown;
  readonly followUpOutcome: unknown;
  readonly compensated: boolean;
}

export interface TimerRow {
  readonly id: string;
  readonly machine: string;
  readonly entity_id: string;
  readonly transition_id: string;
  readonly send_id: string;
  readonly event: { type: string } & Record<string, unknown>;
  readonly due_at: Date;
  readonly status: 'scheduled' | 'fired' | 'cancelled' | 'stale';
  readonly created_at: Date;
  readonly armed_at: Date | null;
  readonly settled_at: Date | null;
}

export interface RejectionRow {
  readonly id: number;
  readonly machine: string;
  readonly entity_id: string;
  readonly state: string | null;
  readonly event_type: string;
  readonly event: unknown;
  readonly code: string;
  readonly message: string;
  readonly idempotency_key: string | null;
  readonly actor: string | null;
  readonly at: Date;
}

/** What a freeze covers and why: shared by the gate's view, the listing and the row written. */
export interface FreezeScope {
  readonly id: string;
  readonly machine: string;
  /** Event types frozen; null: every event of the machine (timers' events included). */
  readonly events: readonly string[] | null;
  /** States frozen, as leaf-path prefixes (`paused` covers `paused.idle`); null: every state. */
  readonly states: readonly string[] | null;
  /** Event types that go on despite the freeze (support-safe actions); null: none. */
  readonly except: readonly string[] | null;
  readonly reason: string;
}

/** A freeze as the gate reads it (store/governance-store.ts loads the active ones). */
export interface Freeze extends FreezeScope {
  /** Milliseconds since the epoch at which the freeze ends by itself; null: until lifted. */
  readonly until: number | null;
}

/** A history row as the feed reads it (store/consumer-store.ts, `read`). */
export interface FeedRow {
  readonly id: string;
  readonly machine: string;
  readonly entity_id: string;
  readonly seq: number;
  readonly event: unknown;
  readonly from_state: string | null;
  readonly to_state: string;
  readonly machine_version: number;
  readonly policy_version: string | null;
  readonly actor: string | null;
  readonly created_at: Date | string;
  /** The committing transaction's id, as text (a bigint). */
  readonly xid: string;
  /** The persisted snapshot, read only for consumers that want the context. */
  readonly snapshot?: unknown;
}
