import type { TimerRow } from './rows.ts';
import { quoteIdent, type SqlClient } from './sql-client.ts';

/** An entity row as `tollgate deploy-check` reads it. */
export interface LiveEntityRecord {
  id: string;
  machine_version: number;
  state: string;
  snapshot: unknown;
  state_entered_at: Date | string;
}

/** Effects of one type (or one unsent follow-up event type), counted, with up to three entity ids. */
export interface PendingWorkCount {
  type: string;
  n: number;
  examples: string[];
}

/**
 * The statements `tollgate deploy-check` runs against the live database (src/evolution/deploy-check.ts): the stored
 * machines, the active policy versions, the entities a page at a time with their scheduled timers, and the pending
 * effects and unsent follow-ups per type. Reads only: it runs on a read replica or a staging copy.
 */
export function deployCheckReads(client: SqlClient, schemaName: string) {
  const s = quoteIdent(schemaName);
  return {
    /** Entities per stored machine name. */
    async storedMachines(): Promise<Array<{ machine: string; n: number }>> {
      const rows = await client.query<{ machine: string; n: number }>(`SELECT machine, count(*)::int AS n FROM ${s}.entities GROUP BY machine ORDER BY machine`);
      return rows.map((r) => ({ machine: r.machine, n: Number(r.n) }));
    },

    /** The first `limit` entity ids of `machine`. */
    async exampleIds(machine: string, limit: number): Promise<string[]> {
      const rows = await client.query<{ id: string }>(`SELECT id FROM ${s}.entities WHERE machine = $1::text ORDER BY id LIMIT ${Math.trunc(limit)}`, [machine]);
      return rows.map((r) => r.id);
    },

    /** The active policy version of each machine that has one. */
    async activePolicies(): Promise<Map<string, string>> {
      const rows = await client.query<{ machine: string; version: string }>(`SELECT machine, version FROM ${s}.active_policies`);
      return new Map(rows.map((r) => [r.machine, r.version]));
    },

    /** The next `limit` entities of `machine` by id, after the id `after` (`''` for the first page). */
    entityPage(machine: string, after: string, limit: number): Promise<LiveEntityRecord[]> {
      return client.query<LiveEntityRecord>(
        `SELECT id, machine_version, state, snapshot, state_entered_at FROM ${s}.entities WHERE machine = $1::text AND id > $2::text ORDER BY id LIMIT ${Math.trunc(limit)}`,
        [machine, after],
      );
    },

    /** The scheduled timers of these entities of `machine`. */
    scheduledTimers(machine: string, entityIds: readonly string[]): Promise<TimerRow[]> {
      return client.query<TimerRow>(
        `SELECT * FROM ${s}.timers WHERE machine = $1::text AND status = 'scheduled' AND entity_id IN (SELECT jsonb_array_elements_text($2::text::jsonb))`,
        [machine, JSON.stringify(entityIds)],
      );
    },

    /** Pending and dispatched effects of `machine` per type. */
    openEffects(machine: string): Promise<PendingWorkCount[]> {
      return client.query<PendingWorkCount>(
        `SELECT type, count(*)::int AS n, to_jsonb((array_agg(DISTINCT entity_id ORDER BY entity_id))[1:3]) AS examples
         FROM ${s}.effects WHERE machine = $1::text AND status IN ('pending', 'dispatched') GROUP BY type ORDER BY type`,
        [machine],
      );
    },

    /** Settled effects of `machine` whose follow-up event (a compensation when the effect failed) is not sent yet, per event type. */
    unsentFollowUps(machine: string): Promise<Array<PendingWorkCount & { compensation: boolean }>> {
      return client.query<PendingWorkCount & { compensation: boolean }>(
        `SELECT follow_up->>'type' AS type, status = 'failed' AS compensation, count(*)::int AS n,
                to_jsonb((array_agg(DISTINCT entity_id ORDER BY entity_id))[1:3]) AS examples
         FROM ${s}.effects WHERE machine = $1::text AND follow_up IS NOT NULL AND follow_up_outcome IS NULL
         GROUP BY 1, 2 ORDER BY 1, 2`,
        [machine],
      );
    },
  };
}

/** The deploy check's reads of one schema. */
export type DeployCheckReads = ReturnType<typeof deployCheckReads>;
