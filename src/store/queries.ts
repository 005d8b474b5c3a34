import type { EffectRow, EntityRow, RejectionRow, TimerRow, TransitionRow } from './rows.ts';
import { quoteIdent, textArray, type SqlClient } from './sql-client.ts';
import { createStateCounts } from './state-counts.ts';
import { stuckEntities, type StateLimit } from './stuck-entities.ts';

/** A rejected attempt to record for audit. */
export interface RejectionInput {
  readonly machine: string;
  readonly entityId: string;
  readonly state: string | null;
  readonly event: { readonly type: string };
  readonly code: string;
  readonly message: string;
  readonly idempotencyKey: string | null;
  readonly actor: string | null;
  readonly at: Date;
}

/** The reads and small writes of the store (the commit itself is in commit.ts). */
export interface Queries {
  loadEntity(machine: string, id: string): Promise<EntityRow | undefined>;
  transitionByKey(machine: string, id: string, key: string): Promise<TransitionRow | undefined>;
  transitionBySeq(machine: string, id: string, seq: number): Promise<TransitionRow | undefined>;
  history(machine: string, id: string, afterSeq: number, limit: number): Promise<TransitionRow[]>;
  effects(machine: string, id: string): Promise<EffectRow[]>;
  timers(machine: string, id: string): Promise<TimerRow[]>;
  /** The status of timer `id` (`scheduled`, `fired`, `cancelled`, `stale`), undefined if there is none. */
  timerStatus(id: string): Promise<TimerRow['status'] | undefined>;
  /**
   * How many entities are in each state (the stored state string: leaf paths joined by `,`), of one machine or of
   * all, states with none left out: read from the maintained counts, not a scan of entities (store/state-counts.ts).
   */
  stateCounts(machine?: string): Promise<Array<{ machine: string; state: string; n: number }>>;
  /**
   * Per state limit, the entities in that state (or one inside it, in any parallel region) since before
   * `at - maxDwellMs`, and by how many ms the longest of them is over (null when none is).
   */
  stuckEntities(limits: readonly StateLimit[], at: Date): Promise<Array<{ machine: string; state: string; n: number; over_ms: number | null }>>;
  rejections(machine: string, id: string): Promise<RejectionRow[]>;
  /** Entities of the machine stored by a version below `version`, ordered by id, after `afterId`: a bulk migration's pages. */
  olderEntities(machine: string, version: number, afterId: string, limit: number): Promise<EntityRow[]>;
  /** How many entities of the machine a version below `version` stored. */
  countOlder(machine: string, version: number): Promise<number>;
  recordRejection(rejection: RejectionInput): Promise<void>;
  pruneRejections(before: Date): Promise<number>;
  /**
   * Sends effect `effectId` of the entity back to `pending` if it is `failed` (attempts, result and error cleared,
   * the failure appended to `retry_log` with who and why); undefined if it is not failed (or not there). The
   * compensation event the failure sent is history and stays.
   */
  retryFailedEffect(machine: string, id: string, effectId: string, by: string | null, reason: string, at: Date): Promise<EffectRow | undefined>;
  /** Effect `effectId` of the entity, if there is one. */
  effect(machine: string, id: string, effectId: string): Promise<EffectRow | undefined>;
  /**
   * The machine's entities ordered by id, after `afterId`, in one of `states` (stored state strings; null: any),
   * whose id starts with `idPrefix` (null: any).
   */
  entityPage(machine: string, page: { states: readonly string[] | null; afterId: string | null; limit: number; idPrefix: string | null }): Promise<EntityRow[]>;
  /** How often each (from, to, event) was committed for the machine, creations excluded. */
  transitionCounts(machine: string): Promise<Array<{ from_state: string; to_state: string; event_type: string; n: string | number }>>;
  /** Whether the transitions table exists. */
  hasHistory(): Promise<boolean>;
  /** One trivial statement: resolves when the database answers. */
  ping(): Promise<void>;
}

export type { StateLimit } from './stuck-entities.ts';

/** Queries against schema `schemaName`. */
export function createQueries(client: SqlClient, schemaName: string): Queries {
  const s = quoteIdent(schemaName);
  const first = async <T extends object>(text: string, params: unknown[]) => (await client.query<T>(text, params))[0];
  const counts = createStateCounts(client, schemaName);
  return {
    loadEntity: (machine, id) =>
      first<EntityRow>(`SELECT * FROM ${s}.entities WHERE machine = $1::text AND id = $2::text`, [machine, id]),
    transitionByKey: (machine, id, key) =>
      first<TransitionRow>(
        `SELECT * FROM ${s}.transitions WHERE machine = $1::text AND entity_id = $2::text AND idempotency_key = $3::text`,
        [machine, id, key],
      ),
    timerStatus: async (id) => (await first<Pick<TimerRow, 'status'>>(`SELECT status FROM ${s}.timers WHERE id = $1::text`, [id]))?.status,
    transitionBySeq: (machine, id, seq) =>
      first<TransitionRow>(
        `SELECT * FROM ${s}.transitions WHERE machine = $1::text AND entity_id = $2::text AND seq = $3::int`,
        [machine, id, seq],
      ),
    history: (machine, id, afterSeq, limit) =>
      client.query<TransitionRow>(
        `SELECT * FROM ${s}.transitions WHERE machine = $1::text AND entity_id = $2::text AND seq > $3::int
         ORDER BY seq LIMIT $4::int`,
        [machine, id, afterSeq, limit],
      ),
    effects: (machine, id) =>
      client.query<EffectRow>(
        `SELECT * FROM ${s}.effects WHERE machine = $1::text AND entity_id = $2::text ORDER BY seq, idx`,
        [machine, id],
      ),
    timers: (machine, id) =>
      client.query<TimerRow>(
        `SELECT * FROM ${s}.timers WHERE machine = $1::text AND entity_id = $2::text ORDER BY created_at, id`,
        [machine, id],
      ),
    stateCounts: (machine) => counts.read(machine),
    stuckEntities: async (limits, at) =>
      limits.length === 0 ? [] : stuckEntities(client, schemaName, await counts.read(), limits, at),
    rejections: (machine, id) =>
      client.query<RejectionRow>(
        `SELECT id::int AS id, machine, entity_id, state, event_type, event, code, message, idempotency_key, actor, at
         FROM ${s}.rejections WHERE machine = $1::text AND entity_id = $2::text ORDER BY id`,
        [machine, id],
      ),
    olderEntities: (machine, version, afterId, limit) =>
      client.query<EntityRow>(
        `SELECT * FROM ${s}.entities WHERE machine = $1::text AND machine_version < $2::int AND id > $3::text ORDER BY id LIMIT $4::int`,
        [machine, version, afterId, limit],
      ),
    countOlder: async (machine, version) =>
      (await first<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.entities WHERE machine = $1::text AND machine_version < $2::int`, [machine, version]))?.n ?? 0,
    async recordRejection(r) {
      await client.query(
        `INSERT INTO ${s}.rejections (machine, entity_id, state, event_type, event, code, message, idempotency_key, actor, at)
         VALUES ($1::text, $2::text, $3::text, $4::text, $5::text::jsonb, $6::text, $7::text, $8::text, $9::text, $10::timestamptz)`,
        [r.machine, r.entityId, r.state, r.event.type, JSON.stringify(r.event), r.code, r.message, r.idempotencyKey, r.actor, r.at],
      );
    },
    retryFailedEffect: (machine, id, effectId, by, reason, at) =>
      first<EffectRow>(
        `UPDATE ${s}.effects SET
           status = 'pending', attempts = 0, result = NULL, error = NULL, follow_up = NULL, follow_up_outcome = NULL,
           dispatched_at = NULL, completed_at = NULL, retries = retries + 1,
           retry_log = retry_log || jsonb_build_array(jsonb_build_object(
             'by', $4::text, 'reason', $5::text, 'at', $6::timestamptz, 'attempts', attempts, 'error', error,
             'followUp', follow_up, 'followUpOutcome', follow_up_outcome, 'compensated', compensated))
         WHERE machine = $1::text AND entity_id = $2::text AND id = $3::text AND status = 'failed'
         RETURNING *`,
        [machine, id, effectId, by, reason, at],
      ),
    effect: (machine, id, effectId) =>
      first<EffectRow>(`SELECT * FROM ${s}.effects WHERE machine = $1::text AND entity_id = $2::text AND id = $3::text`, [machine, id, effectId]),
    // An id prefix is also a lower bound (an id that extends the prefix sorts at or after it, in every collation), so
    // the scan of the (machine, id) index starts there instead of at the machine's first id.
    entityPage: (machine, page) =>
      client.query<EntityRow>(
        `SELECT machine, id, machine_version, snapshot, state, version, state_entered_at
           FROM ${s}.entities
          WHERE machine = $1::text
            ${page.states === null ? 'AND $2::text IS NULL' : 'AND state = ANY ($2::text[])'}
            AND ($3::text IS NULL OR id > $3::text)
            AND ($5::text IS NULL OR (starts_with(id, $5::text) AND id >= $5::text))
          ORDER BY id
          LIMIT $4::int`,
        [machine, page.states === null ? null : textArray(page.states), page.afterId, page.limit, page.idPrefix],
      ),
    transitionCounts: (machine) =>
      client.query(
        `SELECT from_state, to_state, event_type, count(*) AS n FROM ${s}.transitions
          WHERE machine = $1 AND from_state IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 3, 2`,
        [machine],
      ),
    hasHistory: async () => Boolean((await first<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`${s}.transitions`]))?.t),
    ping: async () => {
      await client.query('SELECT 1');
    },
    async pruneRejections(before) {
      const rows = await client.query<{ n: number }>(
        `WITH d AS (DELETE FROM ${s}.rejections WHERE at < $1::timestamptz RETURNING 1) SELECT count(*)::int AS n FROM d`,
        [before],
      );
      return rows[0]?.n ?? 0;
    },
  };
}
