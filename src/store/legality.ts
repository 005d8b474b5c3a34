import { quoteIdent, type SqlClient } from './sql-client.ts';

/** One machine version's legal (from, to) state pairs (engine/legal-pairs.ts). */
export interface LegalPairs {
  readonly machine: string;
  readonly machineVersion: number;
  readonly pairs: ReadonlyArray<readonly [string, string]>;
}

/**
 * Writes the pairs of each machine version into `legal_transitions`, the table the entities trigger reads for
 * overrides (store/legality-sql.ts). Idempotent: pairs already there are kept, so processes of several releases
 * together hold every registered version's pairs.
 */
export async function writeLegalPairs(client: SqlClient, schemaName: string, versions: readonly LegalPairs[]): Promise<void> {
  const rows = versions.flatMap((v) => v.pairs.map(([from, to]) => ({ machine: v.machine, machine_version: v.machineVersion, from_state: from, to_state: to })));
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO ${quoteIdent(schemaName)}.legal_transitions (machine, machine_version, from_state, to_state)
     SELECT machine, machine_version, from_state, to_state
     FROM jsonb_to_recordset($1::text::jsonb) AS r(machine text, machine_version int, from_state text, to_state text)
     ON CONFLICT DO NOTHING`,
    [JSON.stringify(rows)],
  );
}
