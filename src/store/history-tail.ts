import type { TransitionRow } from './rows.ts';
import { quoteIdent, type SqlClient } from './sql-client.ts';

/** A history row without its snapshot (what live views need), with the id of the transaction that wrote it. */
export type TailRow = Omit<TransitionRow, 'snapshot' | 'fingerprint' | 'state_entered_at'> & { readonly xid: string };

/** One read of the history tail. */
export interface TailPage {
  readonly rows: TailRow[];
  /**
   * The oldest transaction still running when the page was read: every row of an older transaction was committed
   * and so visible to this read. The next read may start here (rows at or above it are read again).
   */
  readonly horizon: string;
  /** The transactions that had committed when the page was read (`pg_current_snapshot()`: `xmin:xmax:in-progress`). */
  readonly snapshot: string;
}

/** The largest transaction id a snapshot's text (`xmin:xmax:xip,...`) can see as committed, plus one. */
export function snapshotXmax(snapshot: string): bigint {
  return BigInt(snapshot.split(':')[1] ?? '0');
}

/**
 * Transitions of `machines` written by transactions `sinceXid` or later, in transaction order, at most `limit`,
 * leaving out those of transactions that had committed in snapshot `committedIn` (a watcher's start: what committed
 * before it began is not news, however old the oldest running transaction keeps the horizon):
 * the `xid` BRIN index reads only the table's newest blocks. Ordering by the writing transaction rather than by
 * `created_at` (each writer's clock) means a transaction that commits late is read on a later tick, never
 * passed over. Live views poll it once per second per process (runtime/live-hub.ts).
 */
export function createHistoryTail(client: SqlClient, schemaName: string) {
  const s = quoteIdent(schemaName);
  return async (machines: readonly string[], sinceXid: string, limit: number, committedIn: string | null = null): Promise<TailPage> => {
    const [head] = await client.query<{ horizon: string; snapshot: string }>(
      `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon, pg_current_snapshot()::text AS snapshot`,
    );
    const rows = await client.query<TailRow>(
      `SELECT id, machine, entity_id, seq, event_type, event, from_state, to_state, idempotency_key, machine_version,
              policy_version, actor, created_at, xid::text AS xid
       FROM ${s}.transitions
       WHERE xid >= $1::text::bigint AND machine = ANY(ARRAY(SELECT jsonb_array_elements_text($2::text::jsonb)))
         AND ($4::text IS NULL OR NOT pg_visible_in_snapshot(xid::text::xid8, $4::text::pg_snapshot))
       ORDER BY xid, machine, entity_id, seq LIMIT $3::int`,
      [sinceXid, JSON.stringify(machines), limit, committedIn],
    );
    return { rows, horizon: head?.horizon ?? sinceXid, snapshot: head?.snapshot ?? `${sinceXid}:${sinceXid}:` };
  };
}
