import type { EffectRow, EntityRow, RejectionRow, TimerRow, TransitionRow } from './rows.ts';
import { quoteIdent, type SqlClient } from './sql-client.ts';

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
  /** How many entities of the machine are in each state (the stored state string: leaf paths joined by `,`). */
  stateCounts(machine: string): Promise<Array<{ state: string; n: number }>>;
  rejections(machine: string, id: string): Promise<RejectionRow[]>;
  recordRejection(rejection: RejectionInput): Promise<void>;
  pruneRejections(before: Date): Promise<number>;
}

/** Queries against schema `schemaName`. */
export function createQueries(client: SqlClient, schemaName: string): Queries {
  const s = quoteIdent(schemaName);
  const first = async <T extends object>(text: string, params: unknown[]) => (await client.query<T>(text, params))[0];
  return {
    loadEntity: (machine, id) =>
      first<EntityRow>(`SELECT * FROM ${s}.entities WHERE machine = $1::text AND id = $2::text`, [machine, id]),
    transitionByKey: (machine, id, key) =>
      first<TransitionRow>(
        `SELECT * FROM ${s}.transitions WHERE machine = $1::text AND entity_id = $2::text AND idempotency_key = $3::text`,
        [machine, id, key],
      ),
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
    stateCounts: (machine) =>
      client.query<{ state: string; n: number }>(
        `SELECT state, count(*)::int AS n FROM ${s}.entities WHERE machine = $1::text GROUP BY state ORDER BY state`,
        [machine],
      ),
    rejections: (machine, id) =>
      client.query<RejectionRow>(
        `SELECT id::int AS id, machine, entity_id, state, event_type, event, code, message, idempotency_key, actor, at
         FROM ${s}.rejections WHERE machine = $1::text AND entity_id = $2::text ORDER BY id`,
        [machine, id],
      ),
    async recordRejection(r) {
      await client.query(
        `INSERT INTO ${s}.rejections (machine, entity_id, state, event_type, event, code, message, idempotency_key, actor, at)
         VALUES ($1::text, $2::text, $3::text, $4::text, $5::text::jsonb, $6::text, $7::text, $8::text, $9::text, $10::timestamptz)`,
        [r.machine, r.entityId, r.state, r.event.type, JSON.stringify(r.event), r.code, r.message, r.idempotencyKey, r.actor, r.at],
      );
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
