import type { EventObject } from 'xstate';
import { importedEventType } from './import-statement.ts';
import { overrideEventType } from './legality-sql.ts';
import { observedEventType } from './shadow-store.ts';
import { quoteIdent, type SqlClient } from './sql-client.ts';

/** Which entities' histories to read. */
export interface HistorySelection {
  readonly machine: string;
  /** Only entities written since this time (their whole history is read). Default: all. */
  readonly since?: Date;
  /** At most this many entities, a stable pseudo-random sample (ordered by a hash of the id). Default: all. */
  readonly sample?: number;
  /** Only these entity ids. Default: all. */
  readonly ids?: readonly string[];
  /** Entities read per round trip set. Default 200. */
  readonly batchSize?: number;
  /** Also read refused attempts (TG_ILLEGAL_TRANSITION, TG_GUARD_REJECTED) still kept. Default true. */
  readonly rejections?: boolean;
  /**
   * Only entities whose version differs from the one `tollgate audit` last checked (`audit_checkpoints`, or none):
   * what changed since the last audit. Default false.
   */
  readonly unaudited?: boolean;
  /**
   * Which history rows' stored snapshots to read. `all` (default). `rebase-points`: only those a replay through the
   * entity's own version starts from or checks (imports, migrations, overrides, rows of another machine version, the
   * latest row): parsing every row's snapshot is most of the reading's cost, and an audit needs few.
   */
  readonly stepSnapshots?: 'all' | 'rebase-points';
}

/** The event type of the history row a migration writes (`{ type: '$migrated', from, to, timers }`). */
export const migratedEventType = '$migrated';

/**
 * The WHERE clause and parameters that pick a selection's entities from `<schema>.entities` (`$1` is the machine),
 * shared by the history reader, by counts of what it will read and by the audit's checkpoint reads.
 */
export function entityFilter(schema: string, selection: HistorySelection): { where: string; params: unknown[] } {
  const filters = [`machine = $1::text`];
  const params: unknown[] = [selection.machine];
  if (selection.since) {
    params.push(selection.since);
    filters.push(`updated_at >= $${params.length}::timestamptz`);
  }
  if (selection.ids) {
    params.push(JSON.stringify(selection.ids));
    filters.push(`id IN (SELECT jsonb_array_elements_text($${params.length}::text::jsonb))`);
  }
  if (selection.unaudited) {
    filters.push(
      `NOT EXISTS (SELECT 1 FROM ${schema}.audit_checkpoints c WHERE c.machine = $1::text AND c.entity_id = ${schema}.entities.id AND c.version = ${schema}.entities.version)`,
    );
  }
  return { where: filters.join(' AND '), params };
}

/** An entity row as the history reader reads it. */
export interface EntityRecord {
  id: string;
  version: number;
  machine_version: number;
  state: string;
  snapshot: unknown;
}

/** A history row (`snapshot` null where `rebase-points` left it out). */
export interface TransitionRecord {
  id: string;
  entity_id: string;
  seq: number;
  event_type: string;
  event: EventObject;
  from_state: string | null;
  to_state: string;
  snapshot: unknown;
  machine_version: number;
  idempotency_key: string | null;
  actor: string | null;
  created_at: Date;
}

/** An effect row, as far as a replay compares it. */
export interface EffectRecord {
  transition_id: string;
  type: string;
  params: unknown;
}

/** A timer row. */
export interface TimerRecord {
  id: string;
  entity_id: string;
  transition_id: string;
  send_id: string;
  event: EventObject;
  created_at: Date;
  due_at: Date;
  status: 'scheduled' | 'fired' | 'cancelled' | 'stale';
  settled_at: Date | null;
}

/** A refused attempt kept in `rejections`. */
export interface RejectionRecord {
  entity_id: string;
  state: string | null;
  event: EventObject | null;
  event_type: string;
  code: string;
  at: Date;
}

/** The rows of one batch of entities' histories. */
export interface HistoryBatchRows {
  readonly transitions: TransitionRecord[];
  readonly effects: EffectRecord[];
  readonly timers: TimerRecord[];
  readonly rejections: RejectionRecord[];
}

/**
 * The statements that read recorded histories (`tollgate replay`, `tollgate audit`): entities a page or a sample at
 * a time, then one batch's transitions, effects, timers and rejections, four statements whatever its size. Reads only.
 */
export function historyReads(client: SqlClient, schemaName: string) {
  const s = quoteIdent(schemaName);
  return {
    /** How many entities the selection picks. */
    async count(selection: HistorySelection): Promise<number> {
      const { where, params } = entityFilter(s, selection);
      const [row] = await client.query<{ n: number | string }>(`SELECT count(*)::int AS n FROM ${s}.entities WHERE ${where}`, params);
      return Number(row?.n ?? 0);
    },

    /** Up to `sample` of the selection's entities, a stable pseudo-random choice (ordered by a hash of the id). */
    async sample(selection: HistorySelection, sample: number): Promise<EntityRecord[]> {
      const { where, params } = entityFilter(s, selection);
      return client.query<EntityRecord>(
        `SELECT id, version, machine_version, state, snapshot FROM ${s}.entities WHERE ${where} ORDER BY md5(id), id LIMIT ${Math.trunc(sample)}`,
        params,
      );
    },

    /** The next `limit` of the selection's entities by id, after the id `after` (`''` for the first page). */
    async page(selection: HistorySelection, after: string, limit: number): Promise<EntityRecord[]> {
      const { where, params } = entityFilter(s, selection);
      return client.query<EntityRecord>(
        `SELECT id, version, machine_version, state, snapshot FROM ${s}.entities WHERE ${where} AND id > $${params.length + 1}::text ORDER BY id LIMIT ${Math.trunc(limit)}`,
        [...params, after],
      );
    },

    /** The history rows of a batch of the selection's entities, each kind in the order a replay reads it. */
    async batch(selection: HistorySelection, entities: readonly EntityRecord[]): Promise<HistoryBatchRows> {
      const ids = JSON.stringify(entities.map((e) => e.id));
      const inBatch = `machine = $1::text AND entity_id IN (SELECT jsonb_array_elements_text($2::text::jsonb))`;
      const args = [selection.machine, ids];
      const [transitions, effects, timers, rejections] = await Promise.all([
        client.query<TransitionRecord>(
          selection.stepSnapshots === 'rebase-points'
            ? `SELECT t.id, t.entity_id, t.seq, t.event_type, t.event, t.from_state, t.to_state, t.machine_version, t.idempotency_key, t.actor, t.created_at,
                 CASE WHEN t.event_type IN ('${migratedEventType}', '${overrideEventType}', '${importedEventType}', '${observedEventType}') OR t.seq = b.version OR t.machine_version <> b.machine_version
                   THEN t.snapshot END AS snapshot
               FROM ${s}.transitions t JOIN jsonb_to_recordset($3::text::jsonb) AS b(id text, version int, machine_version int) ON b.id = t.entity_id
               WHERE t.machine = $1::text AND t.entity_id IN (SELECT jsonb_array_elements_text($2::text::jsonb)) ORDER BY t.entity_id, t.seq`
            : `SELECT id, entity_id, seq, event_type, event, from_state, to_state, snapshot, machine_version, idempotency_key, actor, created_at
               FROM ${s}.transitions WHERE ${inBatch} ORDER BY entity_id, seq`,
          selection.stepSnapshots === 'rebase-points'
            ? [...args, JSON.stringify(entities.map((e) => ({ id: e.id, version: e.version, machine_version: e.machine_version })))]
            : args,
        ),
        client.query<EffectRecord>(`SELECT transition_id, type, params FROM ${s}.effects WHERE ${inBatch} ORDER BY entity_id, seq, idx`, args),
        client.query<TimerRecord>(
          `SELECT id, entity_id, transition_id, send_id, event, created_at, due_at, status, settled_at FROM ${s}.timers WHERE ${inBatch} ORDER BY created_at, id`,
          args,
        ),
        selection.rejections === false
          ? Promise.resolve([] as RejectionRecord[])
          : client.query<RejectionRecord>(
              `SELECT entity_id, state, event, event_type, code, at FROM ${s}.rejections
               WHERE ${inBatch} AND code IN ('TG_ILLEGAL_TRANSITION', 'TG_GUARD_REJECTED') AND event_type NOT LIKE 'xstate.%' ORDER BY id`,
              args,
            ),
      ]);
      return { transitions, effects, timers, rejections };
    },
  };
}

/** The history reads of one schema. */
export type HistoryReads = ReturnType<typeof historyReads>;
