import type { StateLimit } from './queries.ts';
import { quoteIdent, type SqlClient } from './sql-client.ts';

/** Entities in one stored state string (leaf paths joined by `,`). */
export interface StateCountRow {
  readonly state: string;
  readonly n: number;
}

/** Refused attempts per (state, event, code) since a time. */
export interface RefusalRow {
  readonly state: string | null;
  readonly event_type: string;
  readonly code: string;
  readonly n: number;
}

/** Effects per (state the transition that emitted them entered, status), unsettled and failed only. */
export interface EffectStatusRow {
  readonly state: string;
  readonly status: 'pending' | 'dispatched' | 'failed';
  readonly n: number;
}

/** Entities over a state's dwell limit. */
export interface StuckRow {
  readonly state: string;
  readonly n: number;
  readonly over_ms: number | null;
}

/** What `machineStats` reads for one machine: one statement per part, each on an index of its own. */
export interface MachineStatsRows {
  readonly counts: StateCountRow[];
  readonly stuck: StuckRow[];
  readonly refusals: RefusalRow[];
  readonly effects: EffectStatusRow[];
}

/** What one stats read needs. */
export interface MachineStatsQuery {
  readonly machine: string;
  /** Now, from the runtime's clock. */
  readonly at: Date;
  /** The machine's dwell limits (`meta.maxDwell`). */
  readonly limits: readonly StateLimit[];
  /** Refusals counted since this time. */
  readonly refusalsSince: Date;
}

/**
 * The inspector's and `GET /v1/machines/{machine}/stats`' reads, kept apart from the gate's queries so that a
 * further breakdown (per machine version) is added here once. Counts are one grouped scan of the
 * `(machine, state)` index; stuck entities reuse that index with the entry time; refusals read the last minutes of
 * `(machine, at)`; effects read the partial index of unsettled ones (completed effects are never scanned).
 */
export function createStatsQueries(client: SqlClient, schemaName: string) {
  const s = quoteIdent(schemaName);
  return {
    async machineStats(q: MachineStatsQuery): Promise<MachineStatsRows> {
      const [counts, stuck, refusals, effects] = await Promise.all([
        client.query<StateCountRow>(
          `SELECT state, count(*)::int AS n FROM ${s}.entities WHERE machine = $1::text GROUP BY state ORDER BY state`,
          [q.machine],
        ),
        q.limits.length === 0
          ? Promise.resolve([])
          : client.query<StuckRow>(
              `SELECT l.state, count(e.id)::int AS n,
                      max(extract(epoch FROM ($1::timestamptz - e.state_entered_at)) * 1000 - l.max_dwell_ms)::float8 AS over_ms
               FROM jsonb_to_recordset($2::text::jsonb) AS l(state text, max_dwell_ms float8)
               LEFT JOIN ${s}.entities e ON e.machine = $3::text
                 AND EXISTS (SELECT 1 FROM unnest(string_to_array(e.state, ',')) AS leaf(path)
                             WHERE leaf.path = l.state OR leaf.path LIKE l.state || '.%')
                 AND e.state_entered_at < $1::timestamptz - make_interval(secs => l.max_dwell_ms / 1000)
               GROUP BY l.state`,
              [q.at, JSON.stringify(q.limits.map((l) => ({ state: l.state, max_dwell_ms: l.maxDwellMs }))), q.machine],
            ),
        client.query<RefusalRow>(
          `SELECT state, event_type, code, count(*)::int AS n FROM ${s}.rejections
           WHERE machine = $1::text AND at >= $2::timestamptz GROUP BY state, event_type, code ORDER BY state, event_type, code`,
          [q.machine, q.refusalsSince],
        ),
        client.query<EffectStatusRow>(
          `SELECT t.to_state AS state, f.status, count(*)::int AS n
           FROM ${s}.effects f JOIN ${s}.transitions t ON t.id = f.transition_id
           WHERE f.machine = $1::text AND f.status <> 'completed'
           GROUP BY t.to_state, f.status ORDER BY t.to_state, f.status`,
          [q.machine],
        ),
      ]);
      return { counts, stuck, refusals, effects };
    },
  };
}

/** The stats reads of one schema. */
export type StatsQueries = ReturnType<typeof createStatsQueries>;
