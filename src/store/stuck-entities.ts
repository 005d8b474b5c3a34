import { quoteIdent, textArray, type SqlClient } from './sql-client.ts';
import type { MachineStateCount } from './state-counts.ts';

/** A state's dwell limit: `state` is a leaf-path prefix as stored in `entities.state`, e.g. `paused.resuming`. */
export interface StateLimit {
  readonly machine: string;
  readonly state: string;
  readonly maxDwellMs: number;
}

/** Entities over one state's dwell limit, and by how many ms the longest of them is over (null when none is). */
export interface StuckCount {
  readonly machine: string;
  readonly state: string;
  readonly n: number;
  readonly over_ms: number | null;
}

/** Whether stored state `stored` (leaf paths joined by `,`) is in state `path` or a state inside it. */
export function storedStateIsIn(stored: string, path: string): boolean {
  return stored.split(',').some((leaf) => leaf === path || leaf.startsWith(`${path}.`));
}

/**
 * Per dwell limit, the entities in that state (or one inside it, in any parallel region) since before
 * `at - maxDwellMs`. The stored state strings a limit covers are taken from the state counts (`present`: every
 * state some entity is in), so each limit is one range scan of the `(machine, state, state_entered_at)` index per
 * stored state, reading only the entities over the limit: O(stuck), not O(entities) (bench/inspector.ts).
 */
export async function stuckEntities(
  client: SqlClient,
  schemaName: string,
  present: readonly MachineStateCount[],
  limits: readonly StateLimit[],
  at: Date,
): Promise<StuckCount[]> {
  if (limits.length === 0) return [];
  const s = quoteIdent(schemaName);
  // One statement per limit, with its states as an array the planner can read (a list it cannot, from JSON, made
  // it take a sequential scan), not one joined over a list of limits: the planner takes a set-returning function for
  // 100 rows, and the joined plan's cost then crossed the JIT threshold: 20 to 100 ms of compiling for a read
  // that runs in 10 (measured on 200,000 entities).
  return Promise.all(
    limits.map(async (l) => {
      const states = present.filter((p) => p.machine === l.machine && storedStateIsIn(p.state, l.state)).map((p) => p.state);
      if (states.length === 0) return { machine: l.machine, state: l.state, n: 0, over_ms: null };
      const [row] = await client.query<{ n: number; over_ms: number | null }>(
        `SELECT count(*)::int AS n,
                (extract(epoch FROM ($1::timestamptz - min(state_entered_at))) * 1000 - $4::float8)::float8 AS over_ms
         FROM ${s}.entities
         WHERE machine = $2::text AND state = ANY ($3::text[])
           AND state_entered_at < $1::timestamptz - make_interval(secs => $4::float8 / 1000)`,
        [at, l.machine, textArray(states), l.maxDwellMs],
      );
      return { machine: l.machine, state: l.state, n: row?.n ?? 0, over_ms: row?.over_ms ?? null };
    }),
  );
}

