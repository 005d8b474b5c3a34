import { planEachRun, quoteIdent, type SqlClient } from './sql-client.ts';

/** The event type (and idempotency key) of the history row an import writes: `{ type: '$imported', ... }`. */
export const importedEventType = '$imported';

/** One imported entity as the batch statement writes it. */
export interface ImportRow {
  readonly id: string;
  readonly machine_version: number;
  readonly snapshot: unknown;
  readonly state: string;
  /** ISO-8601. */
  readonly state_entered_at: string;
  readonly transition_id: string;
  readonly event: unknown;
  readonly fingerprint: string;
  readonly timers: ReadonlyArray<{ id: string; send_id: string; event: unknown; due_at: string }>;
}

/** What one batch did: the ids written now, and for the others what is stored (their import's fingerprint, if any). */
export interface ImportBatchOutcome {
  readonly written: ReadonlySet<string>;
  /** Id -> the fingerprint of its `$imported` row, or null for an entity that exists but was not imported. */
  readonly existing: ReadonlyMap<string, string | null>;
}

/**
 * Writes a batch of imported entities as ONE statement: the entities (version 1, `ON CONFLICT DO NOTHING`), and,
 * for each one written, its `$imported` history row (seq 1, from nowhere) and its timer rows. One statement is one
 * transaction: a batch is written whole or not at all, and an entity never without its history row or timers. It
 * marks itself as the gate's (`set_config('tollgate.gate', 'on', true)`, evaluated before the first row is written,
 * as the gate's commit does: store/commit.ts) so the legality trigger lets it through; the per-state count triggers
 * see the rows like any insert (one statement-level delta per state). A timer row is created at the state's entry
 * time (`due_at - created_at` is its delay, as for the gate's timers); a due time already past is picked up by the
 * scheduler at once. Ids must be unique within a batch (the caller splits batches at a repeated id).
 * Rows travel as one JSON parameter: the text never changes and stays a prepared statement.
 */
export function importBatchStatement(schemaName: string): string {
  const s = quoteIdent(schemaName);
  return `WITH input AS (
    SELECT r.* FROM jsonb_to_recordset($2::text::jsonb) AS r(id text, machine_version int, snapshot jsonb, state text,
      state_entered_at timestamptz, transition_id uuid, event jsonb, fingerprint text, timers jsonb)
  ),
  ins AS (
    INSERT INTO ${s}.entities (machine, id, machine_version, snapshot, state, version, state_entered_at, created_at, updated_at)
    SELECT $1::text, r.id, r.machine_version, r.snapshot, r.state, 1, r.state_entered_at, $3::timestamptz, $3::timestamptz
    FROM input r WHERE set_config('tollgate.gate', 'on', true) = 'on'
    ON CONFLICT DO NOTHING
    RETURNING id
  ),
  tr AS (
    INSERT INTO ${s}.transitions (id, machine, entity_id, seq, event_type, event, from_state, to_state, snapshot,
      state_entered_at, idempotency_key, fingerprint, machine_version, policy_version, actor, created_at)
    SELECT r.transition_id, $1::text, r.id, 1, '${importedEventType}', r.event, NULL, r.state, r.snapshot,
      r.state_entered_at, '${importedEventType}', r.fingerprint, r.machine_version, NULL, $4::text, $3::timestamptz
    FROM input r JOIN ins USING (id)
  ),
  tm AS (
    INSERT INTO ${s}.timers (id, machine, entity_id, transition_id, send_id, event, due_at, status, created_at)
    SELECT t.id, $1::text, r.id, r.transition_id, t.send_id, t.event, t.due_at, 'scheduled', r.state_entered_at
    FROM input r JOIN ins USING (id), jsonb_to_recordset(r.timers) AS t(id text, send_id text, event jsonb, due_at timestamptz)
  )
  SELECT id FROM ins`;
}

/** The stored side of the ids a batch did not write: whether each was imported, and with what fingerprint. */
export function existingImportsStatement(schemaName: string): string {
  const s = quoteIdent(schemaName);
  return `SELECT e.id, t.fingerprint FROM ${s}.entities e
    LEFT JOIN ${s}.transitions t ON t.machine = e.machine AND t.entity_id = e.id AND t.idempotency_key = '${importedEventType}'
    WHERE e.machine = $1::text AND e.id = ANY(ARRAY(SELECT jsonb_array_elements_text($2::text::jsonb)))`;
}

/** Writes one batch (see importBatchStatement) and reads back what was there already. */
export async function writeImportBatch(
  client: SqlClient,
  schemaName: string,
  batch: { readonly machine: string; readonly rows: readonly ImportRow[]; readonly now: Date; readonly actor: string | null },
): Promise<ImportBatchOutcome> {
  const params = [batch.machine, JSON.stringify(batch.rows), batch.now, batch.actor];
  // Planned per run: the size of the batch and of the tables changes from run to run (see planEachRun).
  const rows = await client.query<{ id: string }>(importBatchStatement(schemaName), params, planEachRun);
  const written = new Set(rows.map((r) => r.id));
  const others = batch.rows.filter((r) => !written.has(r.id)).map((r) => r.id);
  const existing = new Map<string, string | null>();
  if (others.length > 0) {
    const found = await client.query<{ id: string; fingerprint: string | null }>(existingImportsStatement(schemaName), [batch.machine, JSON.stringify(others)]);
    for (const f of found) existing.set(f.id, f.fingerprint);
  }
  return { written, existing };
}
