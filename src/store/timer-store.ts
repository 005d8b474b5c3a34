import { idsOf } from './ids.ts';
import { planEachRun, quoteIdent, type SqlClient } from './sql-client.ts';

/** A timer row as the timer worker reads it. */
export interface TimerRecord {
  readonly id: string;
  readonly machine: string;
  readonly entity_id: string;
  readonly event: { type: string };
  readonly due_at: Date;
  readonly status: 'scheduled' | 'fired' | 'cancelled' | 'stale';
}

/** A timer handed (or to be handed again) to the transport. */
export interface ArmedTimer {
  readonly id: string;
  readonly machine: string;
  readonly entity_id: string;
  readonly due_at: Date;
}

/** The statements of the timer scheduler, worker and sweeper. */
export interface TimerStore {
  /** The timer, or undefined. */
  read(id: string): Promise<TimerRecord | undefined>;
  /** Marks a still-scheduled timer stale (its event was refused for good). */
  markStale(id: string, at: Date): Promise<void>;
  /**
   * Claims and marks armed, in one statement that commits before the add (`FOR UPDATE SKIP LOCKED`: several
   * schedulers never arm one timer twice), up to `limit` scheduled timers due by `dueBy`.
   */
  arm(dueBy: Date, limit: number): Promise<ArmedTimer[]>;
  /** Scheduled timers armed at least `minAgeMs` ago (database time): their job must exist. */
  armedBefore(minAgeMs: number, limit: number): Promise<ArmedTimer[]>;
  /** Touches those of `ids` still scheduled (a timer settled since is not re-armed); returns their ids. */
  rearm(ids: readonly string[]): Promise<string[]>;
}

/** The timer statements over `schema`. */
export function timerStore(client: SqlClient, schema: string): TimerStore {
  const s = quoteIdent(schema);
  // ANY(ARRAY(...)): the claimed ids become one parameter matched on the primary key (see ids.ts).
  const armSql = `UPDATE ${s}.timers SET armed_at = now()
    WHERE id = ANY(ARRAY(SELECT id FROM ${s}.timers
      WHERE status = 'scheduled' AND armed_at IS NULL AND due_at <= $1::timestamptz
      ORDER BY due_at LIMIT $2::int FOR UPDATE SKIP LOCKED))
    RETURNING id, machine, entity_id, due_at`;
  return {
    read: async (id) =>
      (await client.query<TimerRecord>(`SELECT id, machine, entity_id, event, due_at, status FROM ${s}.timers WHERE id = $1::text`, [id]))[0],
    markStale: async (id, at) => {
      await client.query(`UPDATE ${s}.timers SET status = 'stale', settled_at = $2::timestamptz WHERE id = $1::text AND status = 'scheduled'`, [id, at]);
    },
    arm: (dueBy, limit) => client.query<ArmedTimer>(armSql, [dueBy, limit], planEachRun),
    armedBefore: (minAgeMs, limit) =>
      client.query<ArmedTimer>(
        `SELECT id, machine, entity_id, due_at FROM ${s}.timers
          WHERE status = 'scheduled' AND armed_at IS NOT NULL AND armed_at < now() - make_interval(secs => $1::float8 / 1000)
          ORDER BY due_at LIMIT $2::int`,
        [minAgeMs, limit],
        planEachRun,
      ),
    rearm: async (ids) =>
      (
        await client.query<{ id: string }>(
          `UPDATE ${s}.timers SET armed_at = now()
            WHERE id = ANY(${idsOf('$1')}) AND (status = 'scheduled') IS TRUE RETURNING id`, // IS TRUE: see ids.ts
          [JSON.stringify(ids)],
          planEachRun,
        )
      ).map((r) => r.id),
  };
}
