import type { EffectFollowUpOutcome, EffectRow } from './rows.ts';
import { indexPlan, quoteIdent, type SqlClient } from './sql-client.ts';
import { idsOf } from './ids.ts';
import { batcher } from './batcher.ts';

/** The effect row as the worker reads it. */
export type EffectRecord = Pick<
  EffectRow,
  'id' | 'transition_id' | 'machine' | 'entity_id' | 'type' | 'params' | 'status' | 'attempts' | 'created_at' | 'follow_up' | 'follow_up_outcome'
>;

/** How one run ended, as recorded. `dispatched` = a retryable failure: attempts + 1, the effect stays open. */
export interface RunRecord {
  readonly id: string;
  readonly status: 'completed' | 'failed' | 'dispatched';
  readonly result?: unknown;
  readonly error?: unknown;
  readonly followUp?: unknown;
  readonly at: Date;
}

/** The worker's reads and writes of effect rows, batched (see batcher.ts). */
export interface EffectStore {
  /** The row, or undefined if there is none. */
  read(id: string): Promise<EffectRecord | undefined>;
  /**
   * Records a run if the effect is still open (not completed, not failed): true if this call recorded it, false
   * if another run settled the effect first. The conditional update is what makes two concurrent runs record once.
   */
  record(run: RunRecord): Promise<boolean>;
  /** Stores what the gate answered for the follow-up or compensation event. */
  recordFollowUp(id: string, outcome: EffectFollowUpOutcome, compensated: boolean): Promise<void>;
}

export function effectStore(client: SqlClient, schema: string): EffectStore {
  const s = quoteIdent(schema);
  const read = batcher(async (ids: string[]) => {
    const rows = await client.query<EffectRecord>(
      `SELECT id, transition_id, machine, entity_id, type, params, status, attempts, created_at, follow_up, follow_up_outcome
       FROM ${s}.effects WHERE id = ANY(${idsOf('$1')})`,
      [JSON.stringify(ids)],
      indexPlan,
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  });
  const record = batcher(async (runs: RunRecord[]) => {
    // The same effect twice in one batch (two concurrent runs): only the first goes to the statement, which then
    // writes exactly the run it credits (an UPDATE joined to two rows of one id writes one of them, unspecified which).
    const firsts = new Map<string, RunRecord>();
    for (const r of runs) if (!firsts.has(r.id)) firsts.set(r.id, r);
    const rows = await client.query<{ id: string }>(
      `UPDATE ${s}.effects e SET
         status = x.status, attempts = e.attempts + 1, result = x.result, error = x.error, follow_up = x.follow_up,
         completed_at = CASE WHEN x.status = 'dispatched' THEN NULL ELSE x.at END,
         -- A run of a still-pending effect (its relay's claim was lost with a database crash) dispatches it: the
         -- sweeper finds dispatched effects by this time, should the job be lost later.
         dispatched_at = COALESCE(e.dispatched_at, now())
       FROM jsonb_to_recordset($1::text::jsonb) AS x(id text, status text, result jsonb, error jsonb, follow_up jsonb, at timestamptz)
       WHERE e.id = ANY(ARRAY(SELECT jsonb_array_elements($1::text::jsonb) ->> 'id')) AND e.id = x.id -- see ids.ts
         AND (e.status IN ('pending', 'dispatched')) IS TRUE -- not matched to effects_open_idx (ids.ts)
       RETURNING e.id`,
      [
        JSON.stringify(
          [...firsts.values()].map((r) => ({ id: r.id, status: r.status, result: r.result ?? null, error: r.error ?? null, follow_up: r.followUp ?? null, at: r.at.toISOString() })),
        ),
      ],
      indexPlan,
    );
    const recorded = new Set(rows.map((r) => r.id));
    return runs.map((r) => firsts.get(r.id) === r && recorded.has(r.id));
  });
  return {
    read,
    record,
    async recordFollowUp(id, outcome, compensated) {
      await client.query(
        `UPDATE ${s}.effects SET follow_up_outcome = $2::text::jsonb, compensated = (status = 'failed' AND $3::boolean) WHERE id = $1::text`,
        [id, JSON.stringify(outcome), compensated],
      );
    },
  };
}
