import type { StateLimit } from './queries.ts';
import { quoteIdent, type SqlClient } from './sql-client.ts';
import { createStateCounts } from './state-counts.ts';
import { stuckEntities } from './stuck-entities.ts';

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
 * further breakdown (per machine version) is added here once. Counts come from the maintained counts
 * (store/state-counts.ts); stuck entities, from the states those name, are range scans of the
 * `(machine, state, state_entered_at)` index (store/stuck-entities.ts); refusals read the last minutes of
 * `(machine, at)`; effects read the partial index of unsettled ones (completed effects are never scanned).
 * None reads every entity: a machine of 1,000,000 answers in milliseconds (bench/inspector.ts).
 */
export function createStatsQueries(client: SqlClient, schemaName: string) {
  const s = quoteIdent(schemaName);
  const stateCounts = createStateCounts(client, schemaName);
  return {
    async machineStats(q: MachineStatsQuery): Promise<MachineStatsRows> {
      const [counts, refusals, effects] = await Promise.all([
        stateCounts.read(q.machine),
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
      const stuck = await stuckEntities(client, schemaName, counts, q.limits, q.at);
      return { counts, stuck, refusals, effects };
    },
  };
}

/** The stats reads of one schema. */
export type StatsQueries = ReturnType<typeof createStatsQueries>;
