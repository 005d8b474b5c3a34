import type { TransitionRow } from './rows.ts';
import { quoteIdent, type SqlClient } from './sql-client.ts';

/** A history row without its snapshot (what live views need). */
export type TailRow = Omit<TransitionRow, 'snapshot' | 'fingerprint' | 'state_entered_at'>;

/**
 * Transitions of `machines` created at or after `since`, oldest first, at most `limit`: one range scan per machine
 * of the `(machine, created_at)` index. Live views poll it once per second per process (live-hub.ts).
 */
export function createHistoryTail(client: SqlClient, schemaName: string) {
  const s = quoteIdent(schemaName);
  return (machines: readonly string[], since: Date, limit: number): Promise<TailRow[]> =>
    client.query<TailRow>(
      `SELECT id, machine, entity_id, seq, event_type, event, from_state, to_state, idempotency_key, machine_version,
              policy_version, actor, created_at
       FROM ${s}.transitions WHERE machine = ANY(ARRAY(SELECT jsonb_array_elements_text($1::text::jsonb))) AND created_at >= $2::timestamptz
       ORDER BY created_at, id LIMIT $3::int`,
      [JSON.stringify(machines), since, limit],
    );
}
