import { quoteIdent, type SqlClient } from './sql-client.ts';

/** Transitions per (machine version, state they left, event). The creation's state is `(created)`. */
export interface VersionTransitionRow {
  readonly machine_version: number;
  readonly state: string;
  readonly event_type: string;
  readonly n: number;
}

/** Entities per (machine version, stored state). */
export interface VersionStateRow {
  readonly machine_version: number;
  readonly state: string;
  readonly n: number;
}

/**
 * Reads what the canary comparison compares: committed transitions per (machine version that evaluated them, state,
 * event), `$migrated` rows left out (they are not traffic), and entities per (stored version, state). Two statements;
 * the transitions one reads every row of the machine since `since` (pass one on a large history).
 */
export async function readVersionStats(client: SqlClient, schemaName: string, machine: string, since?: Date): Promise<{ transitions: VersionTransitionRow[]; entities: VersionStateRow[] }> {
  const s = quoteIdent(schemaName);
  const params: unknown[] = [machine];
  if (since) params.push(since);
  const [transitions, entities] = await Promise.all([
    client.query<VersionTransitionRow>(
      `SELECT machine_version, coalesce(from_state, '(created)') AS state, event_type, count(*)::int AS n
       FROM ${s}.transitions WHERE machine = $1::text AND event_type <> '$migrated'${since ? ' AND created_at >= $2::timestamptz' : ''}
       GROUP BY 1, 2, 3`,
      params,
    ),
    client.query<VersionStateRow>(`SELECT machine_version, state, count(*)::int AS n FROM ${s}.entities WHERE machine = $1::text GROUP BY 1, 2`, [machine]),
  ]);
  return { transitions, entities };
}
