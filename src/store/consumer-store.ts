import { TollgateError } from '../errors.ts';
import { pgErrorCode, planEachRun, quoteIdent, type SqlClient } from './sql-client.ts';
import type { FeedRow } from './rows.ts';


/** Where a consumer's events go. */
export type SinkKind = 'webhook' | 'nats' | 'in_process';

/** What `consumers add` (or `tg.onTransition`) records. */
export interface ConsumerSpec {
  readonly name: string;
  readonly sink: SinkKind;
  /** Webhook URL or NATS server URL; null for in_process. */
  readonly target: string | null;
  /** Webhook signing secret; null for the other sinks. */
  readonly secret: string | null;
  /** Only these machines / event types / states; null: all. */
  readonly machines: readonly string[] | null;
  readonly events: readonly string[] | null;
  readonly states: readonly string[] | null;
  readonly withContext: boolean;
  /** Delivery attempts before an event is dead-lettered. */
  readonly maxAttempts: number;
}

/** A consumer row as stored. */
export interface ConsumerRow {
  readonly name: string;
  readonly sink: SinkKind;
  readonly target: string | null;
  readonly secret: string | null;
  readonly machines: string[] | null;
  readonly events: string[] | null;
  readonly states: string[] | null;
  readonly with_context: boolean;
  readonly max_attempts: number;
  readonly status: 'active' | 'paused';
  readonly cursor_xid: string;
  readonly cursor_seq: number;
  readonly cursor_id: string;
  readonly lease_owner: string | null;
  readonly lease_token: string | null;
  readonly lease_until: Date | null;
  readonly delivered: number;
  readonly retried: number;
  readonly dead_lettered: number;
  readonly last_delivered_at: Date | null;
  readonly last_error: string | null;
  readonly created_at: Date;
}

/** A consumer with how far behind it is, for `consumers list` and the lag metrics. */
export interface ConsumerStatus extends ConsumerRow {
  /** Transitions it selects that it has not yet had (counted up to 100,000). */
  readonly behind: number;
  /** Seconds since the oldest of those was committed; 0 when none. */
  readonly lag_seconds: number;
  /** Dead letters waiting for `consumers redeliver`. */
  readonly dead_letters: number;
}

/** The position in the history after which a consumer resumes. */
export interface Cursor {
  readonly xid: string;
  readonly seq: number;
  readonly id: string;
}

/** Where `rewind` moves a cursor. */
export type RewindTarget = { readonly position: string } | { readonly time: Date } | 'beginning';

const nilUuid = '00000000-0000-0000-0000-000000000000';
// The horizon: every transaction with a smaller id has ended, so every row below it that will ever be visible is.
const horizonSql = '(pg_snapshot_xmin(pg_current_snapshot())::text)::bigint';
const behindCap = 100_000;

function notFound(name: string): TollgateError {
  return new TollgateError('TG_CONSUMER_NOT_FOUND', `No feed consumer named '${name}'. List them with \`tollgate consumers list\`.`, { consumer: name });
}

const json = (list: readonly string[] | null) => (list === null ? null : JSON.stringify(list));

/** The feed's reads and writes over schema `schemaName`. */
export function consumerStore(client: SqlClient, schemaName: string) {
  const s = quoteIdent(schemaName);
  const one = async <T extends object>(text: string, params: unknown[]) => (await client.query<T>(text, params))[0];
  const mustChange = async (name: string, text: string, params: unknown[]) => {
    const rows = await client.query<{ name: string }>(text, [name, ...params]);
    if (rows.length === 0) throw notFound(name);
  };

  return {
    /** Records a new consumer that starts after what is committed now (`from: 'beginning'`: with the whole history). */
    async add(spec: ConsumerSpec, from: 'now' | 'beginning' = 'now'): Promise<ConsumerRow> {
      try {
        return (await one<ConsumerRow>(
          `INSERT INTO ${s}.feed_consumers (name, sink, target, secret, machines, events, states, with_context, max_attempts,
             cursor_xid, created_at, updated_at)
           VALUES ($1::text, $2::text, $3::text, $4::text, $5::text::jsonb, $6::text::jsonb, $7::text::jsonb, $8::boolean, $9::int,
             CASE WHEN $10::boolean THEN 0 ELSE ${horizonSql} END, now(), now())
           RETURNING *`,
          [spec.name, spec.sink, spec.target, spec.secret, json(spec.machines), json(spec.events), json(spec.states), spec.withContext, spec.maxAttempts, from === 'beginning'],
        )) as ConsumerRow;
      } catch (error) {
        if (pgErrorCode(error) !== '23505') throw error;
        throw new TollgateError('TG_CONSUMER_EXISTS', `A feed consumer named '${spec.name}' exists already. Remove it first, or pick another name.`, {
          consumer: spec.name,
        });
      }
    },

    /** An in-process consumer's row: added on first use, its selection updated to the handler's options after. */
    async ensureInProcess(spec: ConsumerSpec): Promise<void> {
      const row = await one<{ sink: SinkKind }>(
        `INSERT INTO ${s}.feed_consumers (name, sink, machines, events, states, with_context, max_attempts, cursor_xid, created_at, updated_at)
         VALUES ($1::text, 'in_process', $2::text::jsonb, $3::text::jsonb, $4::text::jsonb, $5::boolean, $6::int, ${horizonSql}, now(), now())
         ON CONFLICT (name) DO UPDATE SET machines = EXCLUDED.machines, events = EXCLUDED.events, states = EXCLUDED.states,
           with_context = EXCLUDED.with_context, max_attempts = EXCLUDED.max_attempts, updated_at = now()
           WHERE ${s}.feed_consumers.sink = 'in_process'
         RETURNING sink`,
        [spec.name, json(spec.machines), json(spec.events), json(spec.states), spec.withContext, spec.maxAttempts],
      );
      if (!row) {
        throw new TollgateError('TG_CONSUMER_EXISTS', `The feed consumer '${spec.name}' delivers to a webhook or NATS; an in-process handler needs a name of its own.`, {
          consumer: spec.name,
        });
      }
    },

    /** Every consumer with its lag, by name. */
    list: async (name?: string): Promise<ConsumerStatus[]> =>
      (await client.query<ConsumerStatus>(
        `SELECT c.*, b.behind, b.lag_seconds, (SELECT count(*)::int FROM ${s}.feed_dead_letters d WHERE d.consumer = c.name) AS dead_letters
         FROM ${s}.feed_consumers c
         CROSS JOIN LATERAL (
           SELECT count(*)::int AS behind, COALESCE(extract(epoch FROM now() - min(t.created_at)), 0)::float8 AS lag_seconds
           FROM (SELECT t.created_at FROM ${s}.transitions t
                 WHERE t.xid >= c.cursor_xid AND (t.xid, t.seq, t.id) > (c.cursor_xid, c.cursor_seq, c.cursor_id)
                   AND (c.machines IS NULL OR jsonb_exists(c.machines, t.machine))
                   AND (c.events IS NULL OR jsonb_exists(c.events, t.event_type))
                 LIMIT ${behindCap}) t
         ) b
         WHERE $1::text IS NULL OR c.name = $1::text
         ORDER BY c.name`,
        [name ?? null],
        planEachRun,
      )).map((row) => ({ ...counted(row), behind: Number(row.behind), lag_seconds: Number(row.lag_seconds), dead_letters: Number(row.dead_letters) })),

    async get(name: string): Promise<ConsumerRow> {
      const row = await one<ConsumerRow>(`SELECT * FROM ${s}.feed_consumers WHERE name = $1::text`, [name]);
      if (!row) throw notFound(name);
      return counted(row);
    },

    /** Pauses or resumes; the lease is dropped, so the process delivering for it stops at its next step. */
    setStatus: (name: string, status: 'active' | 'paused') =>
      mustChange(
        name,
        `UPDATE ${s}.feed_consumers SET status = $2::text, lease_owner = NULL, lease_token = NULL, lease_until = NULL, updated_at = now()
         WHERE name = $1::text RETURNING name`,
        [status],
      ),

    /**
     * Moves the cursor: to a position (a transaction id, as `consumers list` shows), to the first transition
     * committed at or after a time, or to the beginning. Later transitions are delivered again.
     */
    async rewind(name: string, to: RewindTarget): Promise<Cursor> {
      const position = to === 'beginning' ? '0' : 'position' in to ? to.position : null;
      if (position !== null && !/^\d{1,19}$/.test(position)) {
        throw new TollgateError('TG_INVALID_ARGUMENT', `A feed position is a whole number (as \`consumers list\` shows it); got '${position}'.`, {
          argument: 'to',
        });
      }
      const row = await one<{ cursor_xid: string }>(
        `UPDATE ${s}.feed_consumers SET cursor_xid = COALESCE($2::bigint,
             (SELECT min(xid) FROM ${s}.transitions WHERE created_at >= $3::timestamptz), ${horizonSql}),
           cursor_seq = 0, cursor_id = '${nilUuid}', lease_owner = NULL, lease_token = NULL, lease_until = NULL, updated_at = now()
         WHERE name = $1::text RETURNING cursor_xid::text`,
        [name, position, position === null && typeof to === 'object' && 'time' in to ? to.time : null],
      );
      if (!row) throw notFound(name);
      return { xid: row.cursor_xid, seq: 0, id: nilUuid };
    },

    async remove(name: string): Promise<void> {
      await mustChange(name, `DELETE FROM ${s}.feed_consumers WHERE name = $1::text RETURNING name`, []);
      await client.query(`DELETE FROM ${s}.feed_dead_letters WHERE consumer = $1::text`, [name]);
    },

    /** Marks the consumer's dead letters for delivery again; its feed process takes them, entity by entity in seq order. */
    async redeliver(name: string): Promise<number> {
      await this.get(name);
      const rows = await client.query<{ n: number }>(
        `WITH u AS (UPDATE ${s}.feed_dead_letters SET status = 'redeliver' WHERE consumer = $1::text RETURNING 1) SELECT count(*)::int AS n FROM u`,
        [name],
      );
      return rows[0]?.n ?? 0;
    },

    /** Records this process as alive and says how many feed processes are. */
    async heartbeat(owner: string, ttlMs: number): Promise<number> {
      const rows = await client.query<{ n: number }>(
        `WITH me AS (
           INSERT INTO ${s}.feed_processes (id, seen_at) VALUES ($1::text, now())
           ON CONFLICT (id) DO UPDATE SET seen_at = now()
         ), gone AS (
           DELETE FROM ${s}.feed_processes WHERE seen_at < now() - make_interval(secs => $2::float8 * 3 / 1000)
         )
         SELECT 1 + count(*)::int AS n FROM ${s}.feed_processes WHERE id <> $1::text AND seen_at > now() - make_interval(secs => $2::float8 / 1000)`,
        [owner, ttlMs],
      );
      return rows[0]?.n ?? 1;
    },

    async leaveProcesses(owner: string): Promise<void> {
      await client.query(`DELETE FROM ${s}.feed_processes WHERE id = $1::text`, [owner]);
      await client.query(`UPDATE ${s}.feed_consumers SET lease_owner = NULL, lease_token = NULL, lease_until = NULL WHERE lease_owner = $1::text`, [owner]);
    },

    /** Active consumers this process could deliver for (in-process ones only where their handler is registered). */
    async claimable(localHandlers: readonly string[]): Promise<number> {
      const rows = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${s}.feed_consumers WHERE status = 'active' AND (sink <> 'in_process' OR jsonb_exists($1::text::jsonb, name))`,
        [JSON.stringify(localHandlers)],
      );
      return rows[0]?.n ?? 0;
    },

    /** Takes up to `n` consumers whose lease is free or expired; each with a fresh token. */
    claim: (owner: string, n: number, ttlMs: number, localHandlers: readonly string[]) =>
      client.query<ConsumerRow>(
        `UPDATE ${s}.feed_consumers c SET lease_owner = $1::text, lease_token = md5(random()::text || clock_timestamp()::text || c.name),
           lease_until = now() + make_interval(secs => $3::float8 / 1000)
         WHERE c.name IN (
           SELECT name FROM ${s}.feed_consumers
           WHERE status = 'active' AND (lease_until IS NULL OR lease_until < now())
             AND (sink <> 'in_process' OR jsonb_exists($4::text::jsonb, name))
           ORDER BY name LIMIT $2::int FOR UPDATE SKIP LOCKED)
         RETURNING c.*`,
        [owner, n, ttlMs, JSON.stringify(localHandlers)],
      ),

    /** Extends the leases still held under these tokens; returns the tokens that still hold. */
    async renew(tokens: readonly string[], ttlMs: number): Promise<Set<string>> {
      if (tokens.length === 0) return new Set();
      const rows = await client.query<{ lease_token: string }>(
        `UPDATE ${s}.feed_consumers SET lease_until = now() + make_interval(secs => $2::float8 / 1000)
         WHERE lease_token IN (SELECT jsonb_array_elements_text($1::text::jsonb)) AND status = 'active'
         RETURNING lease_token`,
        [JSON.stringify(tokens), ttlMs],
      );
      return new Set(rows.map((r) => r.lease_token));
    },

    async release(token: string): Promise<void> {
      await client.query(`UPDATE ${s}.feed_consumers SET lease_owner = NULL, lease_token = NULL, lease_until = NULL WHERE lease_token = $1::text`, [token]);
    },

    /**
     * The next transitions after `cursor` that the consumer selects by machine and event type, in commit-visibility
     * order, and the horizon: only transactions below it are read, because every one of them has ended. A row
     * whose transaction is still running can have a smaller id than rows already visible; reading past it would
     * skip it when it commits (the outbox-polling gap), so the read stops at the oldest running transaction.
     */
    async read(consumer: ConsumerRow, cursor: Cursor, limit: number): Promise<{ rows: FeedRow[]; horizon: string }> {
      const rows = await client.query<FeedRow & { horizon: string }>(
        `WITH h AS (SELECT ${horizonSql} AS x)
         SELECT h.x::text AS horizon, r.* FROM h LEFT JOIN LATERAL (
           SELECT t.id, t.machine, t.entity_id, t.seq, t.event, t.from_state, t.to_state, t.machine_version, t.policy_version,
             t.actor, t.created_at, t.xid::text AS xid, CASE WHEN $7::boolean THEN t.snapshot END AS snapshot
           FROM ${s}.transitions t
           WHERE t.xid >= $1::bigint AND (t.xid, t.seq, t.id) > ($1::bigint, $2::int, $3::uuid) AND t.xid < h.x
             AND ($4::text IS NULL OR jsonb_exists($4::text::jsonb, t.machine))
             AND ($5::text IS NULL OR jsonb_exists($5::text::jsonb, t.event_type))
           ORDER BY t.xid, t.seq, t.id LIMIT $6::int
         ) r ON true`,
        [cursor.xid, cursor.seq, cursor.id, json(consumer.machines), json(consumer.events), limit, consumer.with_context],
        planEachRun,
      );
      const horizon = rows[0]?.horizon ?? cursor.xid;
      return { rows: rows.filter((r) => r.id !== null), horizon };
    },

    /**
     * Moves the cursor and adds to the counters, only while `token` holds the lease: a process that lost it (a
     * pause, a rewind, an expired lease) changes nothing. False when the lease is lost.
     */
    async advance(name: string, token: string, cursor: Cursor, counts: { delivered: number; retried: number; deadLettered: number; lastError: string | null }): Promise<boolean> {
      const rows = await client.query<{ name: string }>(
        `UPDATE ${s}.feed_consumers SET cursor_xid = $3::bigint, cursor_seq = $4::int, cursor_id = $5::uuid,
           delivered = delivered + $6::int, retried = retried + $7::int, dead_lettered = dead_lettered + $8::int,
           last_delivered_at = CASE WHEN $6::int > 0 THEN now() ELSE last_delivered_at END,
           last_error = COALESCE($9::text, last_error), updated_at = now()
         WHERE name = $1::text AND lease_token = $2::text AND status = 'active'
         RETURNING name`,
        [name, token, cursor.xid, cursor.seq, cursor.id, counts.delivered, counts.retried, counts.deadLettered, counts.lastError],
      );
      return rows.length > 0;
    },

    /** Entities with dead letters for this consumer: their later events wait behind them. */
    async heldEntities(consumer: string): Promise<Set<string>> {
      const rows = await client.query<{ machine: string; entity_id: string }>(
        `SELECT DISTINCT machine, entity_id FROM ${s}.feed_dead_letters WHERE consumer = $1::text`,
        [consumer],
      );
      return new Set(rows.map((r) => entityKey(r.machine, r.entity_id)));
    },

    async deadLetter(consumer: string, rows: ReadonlyArray<{ row: FeedRow; attempts: number; error: string }>): Promise<void> {
      if (rows.length === 0) return;
      await client.query(
        `INSERT INTO ${s}.feed_dead_letters (consumer, transition_id, machine, entity_id, seq, attempts, error, status, at)
         SELECT $1::text, d.id, d.machine, d.entity_id, d.seq, d.attempts, d.error, 'dead', now()
         FROM jsonb_to_recordset($2::text::jsonb) AS d(id uuid, machine text, entity_id text, seq int, attempts int, error text)
         ON CONFLICT (consumer, transition_id) DO UPDATE SET attempts = EXCLUDED.attempts, error = EXCLUDED.error, status = 'dead', at = now()`,
        [consumer, JSON.stringify(rows.map((d) => ({ id: d.row.id, machine: d.row.machine, entity_id: d.row.entity_id, seq: d.row.seq, attempts: d.attempts, error: d.error })))],
      );
    },

    /** The dead letters marked for redelivery, with their transitions, entity by entity in seq order. */
    redeliveries: (consumer: ConsumerRow) =>
      client.query<FeedRow>(
        `SELECT t.id, t.machine, t.entity_id, t.seq, t.event, t.from_state, t.to_state, t.machine_version, t.policy_version,
           t.actor, t.created_at, t.xid::text AS xid, CASE WHEN $2::boolean THEN t.snapshot END AS snapshot
         FROM ${s}.feed_dead_letters d JOIN ${s}.transitions t ON t.id = d.transition_id
         WHERE d.consumer = $1::text AND d.status = 'redeliver'
         ORDER BY d.machine, d.entity_id, d.seq`,
        [consumer.name, consumer.with_context],
      ),

    async clearDeadLetters(consumer: string, ids: readonly string[]): Promise<void> {
      if (ids.length === 0) return;
      await client.query(
        `DELETE FROM ${s}.feed_dead_letters WHERE consumer = $1::text AND transition_id IN (SELECT (jsonb_array_elements_text($2::text::jsonb))::uuid)`,
        [consumer, JSON.stringify(ids)],
      );
    },
  };
}

/** The feed's store over one schema. */
export type ConsumerStore = ReturnType<typeof consumerStore>;

/** A map key for one entity. */
export function entityKey(machine: string, entityId: string): string {
  return `${machine}\u0000${entityId}`;
}

/** Counters and positions as numbers and strings whatever the driver gives for bigint. */
function counted<T extends ConsumerRow>(row: T): T {
  return { ...row, cursor_xid: String(row.cursor_xid), delivered: Number(row.delivered), retried: Number(row.retried), dead_lettered: Number(row.dead_lettered) };
}

/** The cursor a consumer row holds. */
export function cursorOf(row: ConsumerRow): Cursor {
  return { xid: String(row.cursor_xid), seq: row.cursor_seq, id: row.cursor_id };
}
