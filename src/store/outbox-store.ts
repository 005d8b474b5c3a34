import { outboxChannel } from './commit.ts';
import { idsOf } from './ids.ts';
import { indexPlan, planEachRun, quoteIdent, type SqlClient } from './sql-client.ts';

/** An effect row as the relay and the sweeper hand it to the transport. */
export interface OutboxEffect {
  readonly id: string;
  readonly machine: string;
  readonly entity_id: string;
  readonly type: string;
}

/** The statements of the relay and the effect sweeper. */
export interface OutboxStore {
  /**
   * Claims up to `limit` pending effects, oldest first, and marks them dispatched: one statement, its own
   * transaction (`FOR UPDATE SKIP LOCKED`: two relays never claim one row).
   */
  claim(limit: number): Promise<Array<OutboxEffect & { readonly created_at: Date }>>;
  /** How many effects are pending, and the creation time of the oldest. */
  pending(): Promise<{ count: number; oldest: Date | null }>;
  /** Calls `onNotify` on each NOTIFY the commits send; resolves with the function that stops listening. */
  listen(onNotify: () => void): Promise<() => Promise<void>>;
  /** Effects dispatched at least `minAgeMs` ago (database time): their job must exist. */
  dispatchedBefore(minAgeMs: number, limit: number): Promise<OutboxEffect[]>;
  /** Touches those of `ids` still dispatched (one settled since is not re-added); returns their ids. */
  redispatch(ids: readonly string[]): Promise<string[]>;
  /** Settled effects whose follow-up event never went out (the worker died between recording and sending). */
  unsentFollowUps(limit: number): Promise<OutboxEffect[]>;
  /** Those of `ids` whose follow-up is still unsent. */
  stillUnsent(ids: readonly string[]): Promise<string[]>;
}

/** The outbox statements over `schema`. */
export function outboxStore(client: SqlClient, schema: string): OutboxStore {
  const s = quoteIdent(schema);
  // ANY(ARRAY(...)): the claimed ids become one parameter matched on the primary key (see ids.ts).
  // The claim commits without waiting for its WAL flush (set_config(..., true): this transaction only). Losing it
  // in a database crash only returns the rows to pending: the WAL is written in order, so every later commit that
  // was flushed (a worker's completion, which waits for its flush) carries the claim with it. A claim lost with the
  // completion not yet recorded is a handler that runs again with the same effect id, the window a worker crash
  // already opens. Not waiting takes a disk flush off every relay round.
  const claimSql = `UPDATE ${s}.effects SET status = 'dispatched', dispatched_at = now()
    WHERE id = ANY(ARRAY(SELECT id FROM ${s}.effects WHERE status = 'pending'
      ORDER BY created_at LIMIT $1::int FOR UPDATE SKIP LOCKED))
    RETURNING id, machine, entity_id, type, created_at, set_config('synchronous_commit', 'off', true) AS async_commit`;
  const ids = async (sql: string, list: readonly string[]) =>
    (await client.query<{ id: string }>(sql, [JSON.stringify(list)], planEachRun)).map((r) => r.id);
  return {
    // A cached plan: the oldest pending rows through effects_pending_idx, then the key (sql-client.ts, indexPlan).
    claim: (limit) => client.query(claimSql, [limit], indexPlan),
    pending: async () => {
      const [row] = await client.query<{ n: number; oldest: Date | null }>(
        `SELECT count(*)::int AS n, min(created_at) AS oldest FROM ${s}.effects WHERE status = 'pending'`,
      );
      return { count: row?.n ?? 0, oldest: row?.oldest ?? null };
    },
    listen: (onNotify) => client.listen(outboxChannel(schema), () => onNotify()),
    dispatchedBefore: (minAgeMs, limit) =>
      client.query<OutboxEffect>(
        `SELECT id, machine, entity_id, type FROM ${s}.effects
          WHERE status = 'dispatched' AND dispatched_at < now() - make_interval(secs => $1::float8 / 1000)
          ORDER BY dispatched_at LIMIT $2::int`,
        [minAgeMs, limit],
        planEachRun,
      ),
    redispatch: (list) =>
      ids(`UPDATE ${s}.effects SET dispatched_at = now()
        WHERE id = ANY(${idsOf('$1')}) AND (status = 'dispatched') IS TRUE RETURNING id`, list), // IS TRUE: see ids.ts
    unsentFollowUps: (limit) =>
      client.query<OutboxEffect>(
        `SELECT id, machine, entity_id, type FROM ${s}.effects
          WHERE follow_up IS NOT NULL AND follow_up_outcome IS NULL AND status IN ('completed', 'failed')
          ORDER BY completed_at LIMIT $1::int`,
        [limit],
        planEachRun,
      ),
    stillUnsent: (list) => ids(`SELECT id FROM ${s}.effects WHERE id = ANY(${idsOf('$1')}) AND follow_up_outcome IS NULL`, list),
  };
}
