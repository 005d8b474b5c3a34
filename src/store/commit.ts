import type { OutboxNotifier } from './outbox-notifier.ts';
import { quoteIdent, type SqlClient } from './sql-client.ts';

/** Everything one accepted event writes. */
export interface CommitInput {
  readonly machine: string;
  readonly entityId: string;
  /** The version read; the write succeeds only if it is still current. `0` creates the entity. */
  readonly expectedVersion: number;
  readonly machineVersion: number;
  readonly snapshot: unknown;
  readonly state: string;
  /** Whether the state value changed (restarts the time-in-state clock). */
  readonly stateChanged: boolean;
  readonly now: Date;
  readonly transitionId: string;
  readonly event: { readonly type: string };
  readonly fromState: string | null;
  readonly idempotencyKey: string | null;
  readonly fingerprint: string;
  readonly actor: string | null;
  readonly policyVersion: string | null;
  readonly effects: ReadonlyArray<{ id: string; idx: number; type: string; params: unknown }>;
  readonly timers: ReadonlyArray<{ id: string; send_id: string; event: unknown; due_at: string }>;
  /** sendIds of scheduled timers to cancel. */
  readonly cancels: readonly string[];
  /** The timer whose firing this transition is, marked fired in the same commit. */
  readonly firedTimerId: string | null;
}

/** What the commit statement reports. */
export interface CommitOutcome {
  /**
   * False: the version moved (a concurrent writer won), the entity exists (create), the key was taken, or the
   * timer being fired is no longer scheduled.
   */
  readonly committed: boolean;
  readonly stateEnteredAt: Date | null;
}

/**
 * Builds the commit as ONE statement: data-modifying CTEs update the entity under the version check and insert the
 * history row, the effect and timer rows, and cancel superseded timers. One statement is one implicit transaction and
 * one round trip: state, history, effects and timers commit together or not at all. Every later CTE runs only if
 * the entity write matched (`FROM head`). A timer's firing (`$21`) commits only while that timer is still scheduled:
 * a later transition that cancelled it also moved the entity's version, so either this statement sees the
 * cancellation or its version check fails (and the gate then finds the timer settled). The relay's NOTIFY follows the commit (outbox-notifier.ts says why).
 * With `$22` (a relay runs in this process and takes the commit's effects: outbox/direct-hand-off.ts) the effect rows
 * are written already claimed, `dispatched`, and no relay round is needed.
 * The statement marks itself as the gate's (`set_config('tollgate.gate', 'on', true)`, evaluated before the row is
 * written and local to its transaction): the trigger that refuses every other writer of lifecycle state lets it
 * through (store/legality-sql.ts).
 * Variable-length parts travel as JSON arrays, so the text never changes and stays a prepared statement.
 */
export function commitStatement(schemaName: string, mode: 'create' | 'update'): string {
  const s = quoteIdent(schemaName);
  const head =
    mode === 'create'
      ? `INSERT INTO ${s}.entities (machine, id, machine_version, snapshot, state, version, state_entered_at, created_at, updated_at)
         SELECT $1::text, $2::text, $5::int, $6::text::jsonb, $7::text, $4::int, $9::timestamptz, $9::timestamptz, $9::timestamptz
         WHERE $3::int = 0 AND $8::boolean AND set_config('tollgate.gate', 'on', true) = 'on'
         ON CONFLICT DO NOTHING
         RETURNING state_entered_at`
      : `UPDATE ${s}.entities SET
           snapshot = $6::text::jsonb, state = $7::text, version = $4::int, machine_version = $5::int, updated_at = $9::timestamptz,
           state_entered_at = CASE WHEN $8::boolean THEN $9::timestamptz ELSE state_entered_at END
         WHERE machine = $1::text AND id = $2::text AND version = $3::int
           AND set_config('tollgate.gate', 'on', true) = 'on'
           AND ($13::text IS NULL OR NOT EXISTS (
             SELECT 1 FROM ${s}.transitions WHERE machine = $1::text AND entity_id = $2::text AND idempotency_key = $13::text))
           AND ($21::text IS NULL OR EXISTS (SELECT 1 FROM ${s}.timers WHERE id = $21::text AND status = 'scheduled'))
         RETURNING state_entered_at`;
  return `WITH head AS (${head}),
  tr AS (
    INSERT INTO ${s}.transitions (id, machine, entity_id, seq, event_type, event, from_state, to_state, snapshot,
      state_entered_at, idempotency_key, fingerprint, machine_version, policy_version, actor, created_at)
    SELECT $10::uuid, $1::text, $2::text, $4::int, $11::text, $12::text::jsonb, $14::text, $7::text, $6::text::jsonb,
      head.state_entered_at, $13::text, $15::text, $5::int, $16::text, $17::text, $9::timestamptz
    FROM head
  ),
  ef AS (
    INSERT INTO ${s}.effects (id, transition_id, machine, entity_id, seq, idx, type, params, status, created_at, dispatched_at)
    SELECT e.id, $10::uuid, $1::text, $2::text, $4::int, e.idx, e.type, e.params,
      CASE WHEN $22::boolean THEN 'dispatched' ELSE 'pending' END, $9::timestamptz, CASE WHEN $22::boolean THEN now() END
    FROM head, jsonb_to_recordset($18::text::jsonb) AS e(id text, idx int, type text, params jsonb)
  ),
  tm AS (
    INSERT INTO ${s}.timers (id, machine, entity_id, transition_id, send_id, event, due_at, status, created_at)
    SELECT t.id, $1::text, $2::text, $10::uuid, t.send_id, t.event, t.due_at, 'scheduled', $9::timestamptz
    FROM head, jsonb_to_recordset($19::text::jsonb) AS t(id text, send_id text, event jsonb, due_at timestamptz)
  ),
  cancelled AS (
    UPDATE ${s}.timers SET status = 'cancelled', settled_at = $9::timestamptz
    FROM head
    WHERE machine = $1::text AND entity_id = $2::text AND status = 'scheduled'
      AND send_id IN (SELECT jsonb_array_elements_text($20::text::jsonb))
      AND id IS DISTINCT FROM $21::text
  ),
  fired AS (
    UPDATE ${s}.timers SET status = 'fired', settled_at = $9::timestamptz
    FROM head
    WHERE id = $21::text AND status = 'scheduled'
  )
  SELECT (SELECT state_entered_at FROM head) AS state_entered_at`;
}

/** The commit statements for one schema, built once. */
export interface Committer {
  commit(input: CommitInput): Promise<CommitOutcome>;
  /**
   * Several commits of one entity (seq after seq) in one transaction: all or none. The outcome is the last one's.
   * Effects are written pending (no hand-off).
   */
  commitAll(inputs: readonly CommitInput[]): Promise<CommitOutcome>;
}

/** An effect as a relay hands it to the transport. */
export interface CommittedEffect {
  readonly id: string;
  readonly machine: string;
  readonly entityId: string;
  readonly type: string;
}

/** Takes committed effects straight from the commit: a relay running in this process (outbox/direct-hand-off.ts). */
export interface EffectHandOff {
  /** The effects of a commit that wrote them as dispatched: add their jobs. Never waits, never throws. */
  take(effects: readonly CommittedEffect[]): void;
}

/** Where a committer sends what it committed. */
export interface CommitterOutbox {
  /** Poked after each commit that wrote pending effects: the NOTIFY that wakes relays. */
  readonly notifier?: OutboxNotifier;
  /** The hand-off attached now, if any; read once per commit, before it. */
  readonly handOff?: () => EffectHandOff | undefined;
}

/**
 * A committer for `schemaName` on `client`. Effects of a commit go to the attached hand-off when there is one,
 * written as dispatched; otherwise they are written pending and the notifier is poked.
 */
export function createCommitter(client: SqlClient, schemaName: string, outbox: CommitterOutbox = {}): Committer {
  const createSql = commitStatement(schemaName, 'create');
  const updateSql = commitStatement(schemaName, 'update');
  return {
    async commit(input) {
      const creating = input.expectedVersion === 0;
      const handOff = input.effects.length > 0 ? outbox.handOff?.() : undefined;
      const rows = await client.query<{ state_entered_at: Date | null }>(creating ? createSql : updateSql, commitParams(input, handOff !== undefined));
      const enteredAt = rows[0]?.state_entered_at ?? null;
      if (enteredAt !== null && input.effects.length > 0) {
        if (handOff) handOff.take(input.effects.map((e) => ({ id: e.id, machine: input.machine, entityId: input.entityId, type: e.type })));
        else outbox.notifier?.poke();
      }
      return { committed: enteredAt !== null, stateEnteredAt: enteredAt === null ? null : new Date(enteredAt) };
    },
    async commitAll(inputs) {
      // Rare (a lazy snapshot migration and the event that found it): one transaction of the same statements.
      const outcome = await client
        .transaction(async (tx) => {
          let enteredAt: Date | null = null;
          for (const input of inputs) {
            const rows = await tx.query<{ state_entered_at: Date | null }>(input.expectedVersion === 0 ? createSql : updateSql, commitParams(input, false));
            enteredAt = rows[0]?.state_entered_at ?? null;
            if (enteredAt === null) throw notCommitted;
          }
          return { committed: true, stateEnteredAt: enteredAt === null ? null : new Date(enteredAt) };
        })
        .catch((error: unknown) => {
          if (error === notCommitted) return { committed: false, stateEnteredAt: null };
          throw error;
        });
      if (outcome.committed && inputs.some((i) => i.effects.length > 0)) outbox.notifier?.poke();
      return outcome;
    },
  };
}

const notCommitted = new Error('not committed: rolled back');

export function commitParams(input: CommitInput, handedOff: boolean): unknown[] {
  return [
    input.machine,
    input.entityId,
    input.expectedVersion,
    input.expectedVersion + 1,
    input.machineVersion,
    JSON.stringify(input.snapshot),
    input.state,
    input.stateChanged,
    input.now,
    input.transitionId,
    input.event.type,
    JSON.stringify(input.event),
    input.idempotencyKey,
    input.fromState,
    input.fingerprint,
    input.policyVersion,
    input.actor,
    JSON.stringify(input.effects),
    JSON.stringify(input.timers),
    JSON.stringify(input.cancels),
    input.firedTimerId,
    handedOff,
  ];
}

/** The NOTIFY channel that wakes the relays after a commit that wrote effects. */
export function outboxChannel(schemaName: string): string {
  quoteIdent(schemaName);
  return `${schemaName}_outbox`;
}
