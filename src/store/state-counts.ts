import { quoteIdent, type SqlClient } from './sql-client.ts';

/** Entities of one machine in one stored state string (leaf paths joined by `,`). */
export interface MachineStateCount {
  readonly machine: string;
  readonly state: string;
  readonly n: number;
}

/** Exact per-state entity counts read from the maintained tables, never from a scan of entities. */
export interface StateCounts {
  /** Entities per (machine, state), of one machine or of all; states with none are left out. */
  read(machine?: string): Promise<MachineStateCount[]>;
  /** Folds the moves the triggers appended into the counts; skipped when another process is doing it. */
  compact(): Promise<void>;
  /** Counts every entity again (after entities were written with the triggers disabled, say). */
  recount(): Promise<void>;
}

/** Moves left unfolded after which a read folds them (so a read never sums more than about this many rows). */
export const compactAfterMoves = 1000;

/**
 * Counts per state at any fleet size (migration 0011): `state_counts` holds the count as of the last
 * compaction, `state_count_deltas` the signed moves appended since by triggers on `entities`, whoever wrote (the
 * gate, an override, a bulk load). A read sums both in one statement, so it is exact and costs
 * O(states + moves since the last compaction), not O(entities): 1,000,000 entities answer as fast as ten
 * (bench/inspector.ts). Writers only append: no counter row is shared by the commits into one state, so two gates
 * never wait on each other for it (bench/transitions.ts, part `counts`, measures what the triggers cost).
 * A read that summed at least {@link compactAfterMoves} moves folds them before returning: no loop to run, and
 * the moves stay few wherever counts are read (the inspector, the stats route, the entity gauges).
 *
 * Compaction and recount take one advisory lock, so they never interleave: a compaction deletes the moves its
 * snapshot sees and adds their sum in the same statement (a move committed later stays for the next one); a
 * recount, holding the lock before its statement takes its snapshot, replaces the counts by a count of entities
 * and deletes exactly the moves that count already includes.
 */
export function createStateCounts(client: SqlClient, schemaName: string): StateCounts {
  const s = quoteIdent(schemaName);
  const lockKey = `tollgate.state_counts.${schemaName}`;
  const compact = async () => {
    await client.transaction(async (tx) => {
      const [lock] = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1::text)) AS ok', [lockKey]);
      if (!lock?.ok) return; // another process is folding them
      await tx.query(
        `WITH moved AS (DELETE FROM ${s}.state_count_deltas RETURNING machine, state, n)
         INSERT INTO ${s}.state_counts (machine, state, n)
         SELECT machine, state, sum(n) FROM moved GROUP BY machine, state ORDER BY machine, state
         ON CONFLICT (machine, state) DO UPDATE SET n = ${s}.state_counts.n + excluded.n`,
      );
      await tx.query(`DELETE FROM ${s}.state_counts WHERE n = 0`);
    });
  };
  return {
    async read(machine) {
      const rows = await client.query<MachineStateCount & { moves: number }>(
        `SELECT machine, state, sum(n)::int AS n, sum(moves)::int AS moves FROM (
           SELECT machine, state, n, 0 AS moves FROM ${s}.state_counts WHERE $1::text IS NULL OR machine = $1::text
           UNION ALL
           SELECT machine, state, n, 1 FROM ${s}.state_count_deltas WHERE $1::text IS NULL OR machine = $1::text
         ) c GROUP BY machine, state ORDER BY machine, state`,
        [machine ?? null],
      );
      if (rows.reduce((sum, r) => sum + r.moves, 0) >= compactAfterMoves) await compact();
      return rows.filter((r) => r.n !== 0).map(({ machine: m, state, n }) => ({ machine: m, state, n }));
    },
    compact,
    async recount() {
      await client.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1::text))', [lockKey]);
        await tx.query(
          `WITH gone AS (DELETE FROM ${s}.state_count_deltas),
                counted AS (SELECT machine, state, count(*) AS n FROM ${s}.entities GROUP BY machine, state),
                emptied AS (DELETE FROM ${s}.state_counts c
                            WHERE NOT EXISTS (SELECT 1 FROM counted k WHERE k.machine = c.machine AND k.state = c.state))
           INSERT INTO ${s}.state_counts (machine, state, n) SELECT machine, state, n FROM counted
           ON CONFLICT (machine, state) DO UPDATE SET n = excluded.n`,
        );
      });
    },
  };
}
