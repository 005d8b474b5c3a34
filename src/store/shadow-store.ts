import { commitParams, commitStatement, type CommitInput } from './commit.ts';
import { quoteIdent, type SqlClient } from './sql-client.ts';

/**
 * The event type of the history row a shadow observation writes when the mirror follows a move the machine would
 * not have made (illegal or diverged): `{ type: '$observed', event, verdict, from, to, illegal: true, reason }`. The
 * replay goes on from the snapshot it stored, as from an override (replay/recorded-history.ts).
 */
export const observedEventType = '$observed';

/**
 * The member a legal observation's history row adds to its event (`{ type: 'PAUSE', $shadow: true }`): the machine's
 * transition, committed without the effects shadow mode withholds, so the audit does not compare its effects.
 */
export const shadowEventMember = '$shadow';

/** The verdicts of an observation (runtime/observe.ts says when each applies). */
export type Verdict = 'legal' | 'illegal' | 'diverged' | 'unknown-entity';

/** A row of `shadow_observations`. */
export interface ObservationRow {
  readonly id: number;
  readonly machine: string;
  readonly entity_id: string;
  readonly observation_key: string | null;
  readonly fingerprint: string;
  readonly event_type: string;
  readonly event: Record<string, unknown>;
  readonly from_state: string | null;
  readonly to_state: string;
  readonly mirror_state: string | null;
  readonly expected_state: string | null;
  readonly verdict: Verdict;
  readonly code: string | null;
  readonly reason: string | null;
  readonly observed_at: Date;
  readonly recorded_at: Date;
}

/** An observation to write (the row without its id). */
export type NewObservation = Omit<ObservationRow, 'id'>;

/** A row of `mode_switches`. */
export interface ModeSwitchRow {
  readonly id: number;
  readonly machine: string;
  readonly from_mode: string;
  readonly to_mode: string;
  readonly actor: string;
  readonly reason: string;
  readonly at: Date;
}

/** One line of the shadow report: the illegal or diverged moves of one (from, event, to). */
export interface ReportRow {
  readonly verdict: Verdict;
  readonly from_state: string | null;
  readonly event_type: string;
  readonly to_state: string;
  readonly code: string | null;
  readonly count: number;
  readonly example_ids: string[];
  readonly first_at: Date;
  readonly last_at: Date;
}

/** What recording an observation did. */
export type RecordOutcome =
  | { readonly kind: 'recorded'; readonly row: ObservationRow }
  /** The mirror moved meanwhile (its version check failed): decide again. */
  | { readonly kind: 'moved' }
  /** Another report under the same key was recorded first: answer with it. */
  | { readonly kind: 'taken' };

/** The statements of machine modes and shadow observations over one schema. */
export interface ShadowStore {
  /**
   * Switches `machine` to `mode`, recording who, when, why and the mode it left (`fromMode`: what this process
   * applied, the definition's mode when no switch was ever recorded). Followed by the governance NOTIFY.
   */
  switchMode(machine: string, fromMode: string, mode: string, actor: string, reason: string, at: Date): Promise<ModeSwitchRow>;
  modeSwitches(machine: string | undefined, limit: number): Promise<ModeSwitchRow[]>;
  observationByKey(machine: string, entityId: string, key: string): Promise<ObservationRow | undefined>;
  /**
   * Writes the observation and, when the mirror follows (`move`), its commit, in one transaction: both or neither.
   * The move runs the gate's own commit statement (the version check, the history row, the timers).
   */
  record(observation: NewObservation, move: CommitInput | undefined): Promise<RecordOutcome>;
  /**
   * Illegal and diverged observations since `since`, grouped by (verdict, from, event, to), most frequent first;
   * `from` is the legacy system's, or the mirror's where the report did not say.
   */
  report(machine: string, since: Date, examples: number): Promise<ReportRow[]>;
  /** Observations per verdict since `since`. */
  verdictCounts(machine: string, since: Date): Promise<Array<{ verdict: Verdict; count: number }>>;
  /** An entity's observations, newest first. */
  observations(machine: string, entityId: string, limit: number): Promise<ObservationRow[]>;
}

class Outcome extends Error {
  constructor(readonly outcome: RecordOutcome) {
    super('shadow-store: rolled back');
  }
}

const observationColumns = `id::int AS id, machine, entity_id, observation_key, fingerprint, event_type, event, from_state, to_state,
  mirror_state, expected_state, verdict, code, reason, observed_at, recorded_at`;

/** The shadow-mode statements for schema `schemaName`. */
export function shadowStore(client: SqlClient, schemaName: string, governanceChannel: string): ShadowStore {
  const s = quoteIdent(schemaName);
  const createSql = commitStatement(schemaName, 'create');
  const updateSql = commitStatement(schemaName, 'update');
  return {
    async switchMode(machine, fromMode, mode, actor, reason, at) {
      const row = await client.transaction(async (tx) => {
        const [before] = await tx.query<{ mode: string }>(`SELECT mode FROM ${s}.machine_modes WHERE machine = $1::text FOR UPDATE`, [machine]);
        await tx.query(
          `INSERT INTO ${s}.machine_modes (machine, mode, switched_at, switched_by, reason) VALUES ($1::text, $2::text, $3::timestamptz, $4::text, $5::text)
           ON CONFLICT (machine) DO UPDATE SET mode = EXCLUDED.mode, switched_at = EXCLUDED.switched_at,
             switched_by = EXCLUDED.switched_by, reason = EXCLUDED.reason`,
          [machine, mode, at, actor, reason],
        );
        const [inserted] = await tx.query<ModeSwitchRow>(
          `INSERT INTO ${s}.mode_switches (machine, from_mode, to_mode, actor, reason, at)
           VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::timestamptz) RETURNING id::int AS id, machine, from_mode, to_mode, actor, reason, at`,
          [machine, before?.mode ?? fromMode, mode, actor, reason, at],
        );
        return inserted as ModeSwitchRow;
      });
      // Every process re-reads its rules on this NOTIFY (policy/watch.ts); lost, within a second anyway.
      await client.query(`SELECT pg_notify($1::text, '')`, [governanceChannel]).catch(() => {});
      return row;
    },
    modeSwitches: (machine, limit) =>
      client.query<ModeSwitchRow>(
        `SELECT id::int AS id, machine, from_mode, to_mode, actor, reason, at FROM ${s}.mode_switches
         WHERE $1::text IS NULL OR machine = $1::text ORDER BY id DESC LIMIT $2::int`,
        [machine ?? null, limit],
      ),
    async observationByKey(machine, entityId, key) {
      const [row] = await client.query<ObservationRow>(
        `SELECT ${observationColumns} FROM ${s}.shadow_observations WHERE machine = $1::text AND entity_id = $2::text AND observation_key = $3::text`,
        [machine, entityId, key],
      );
      return row;
    },
    async record(o, move) {
      try {
        return await client.transaction(async (tx) => {
          if (move) {
            const moved = await tx.query<{ state_entered_at: Date | null }>(move.expectedVersion === 0 ? createSql : updateSql, commitParams(move, false));
            if ((moved[0]?.state_entered_at ?? null) === null) throw new Outcome({ kind: 'moved' });
          }
          const [row] = await tx.query<ObservationRow>(
            `INSERT INTO ${s}.shadow_observations (machine, entity_id, observation_key, fingerprint, event_type, event, from_state, to_state,
               mirror_state, expected_state, verdict, code, reason, observed_at, recorded_at)
             VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text::jsonb, $7::text, $8::text, $9::text, $10::text, $11::text,
               $12::text, $13::text, $14::timestamptz, $15::timestamptz)
             ON CONFLICT DO NOTHING RETURNING ${observationColumns}`,
            [
              o.machine,
              o.entity_id,
              o.observation_key,
              o.fingerprint,
              o.event_type,
              JSON.stringify(o.event),
              o.from_state,
              o.to_state,
              o.mirror_state,
              o.expected_state,
              o.verdict,
              o.code,
              o.reason,
              o.observed_at,
              o.recorded_at,
            ],
          );
          // A report under the same key committed first: undo the move made here, answer with that one.
          if (!row) throw new Outcome({ kind: 'taken' });
          return { kind: 'recorded', row } as const;
        });
      } catch (error) {
        if (error instanceof Outcome) return error.outcome;
        throw error;
      }
    },
    report: (machine, since, examples) =>
      client.query<ReportRow>(
        `SELECT verdict, coalesce(from_state, mirror_state) AS from_state, event_type, to_state, min(code) AS code, count(*)::int AS count,
           (array_agg(DISTINCT entity_id))[1:$3::int] AS example_ids, min(observed_at) AS first_at, max(observed_at) AS last_at
         FROM ${s}.shadow_observations
         WHERE machine = $1::text AND observed_at >= $2::timestamptz AND verdict IN ('illegal', 'diverged')
         GROUP BY verdict, coalesce(from_state, mirror_state), event_type, to_state
         ORDER BY count(*) DESC, verdict, event_type, 2, to_state`,
        [machine, since, examples],
      ),
    verdictCounts: (machine, since) =>
      client.query<{ verdict: Verdict; count: number }>(
        `SELECT verdict, count(*)::int AS count FROM ${s}.shadow_observations WHERE machine = $1::text AND observed_at >= $2::timestamptz
         GROUP BY verdict ORDER BY verdict`,
        [machine, since],
      ),
    observations: (machine, entityId, limit) =>
      client.query<ObservationRow>(
        `SELECT ${observationColumns} FROM ${s}.shadow_observations WHERE machine = $1::text AND entity_id = $2::text ORDER BY id DESC LIMIT $3::int`,
        [machine, entityId, limit],
      ),
  };
}
