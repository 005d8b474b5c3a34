import { quoteIdent, type SqlClient } from './sql-client.ts';
import { entityFilter, type HistorySelection } from './history-reads.ts';

/** A finding as the checkpoint stores it (audit/drift.ts's DriftFinding). */
export interface StoredFinding {
  readonly kind: string;
  readonly detail: string;
  readonly seq?: number;
}

/** One entity's checkpoint: the version audited and what was found there (empty: clean). */
export interface Checkpoint {
  readonly entityId: string;
  readonly version: number;
  readonly findings: readonly StoredFinding[];
}

/** A row found by a set query: which entity, what. */
export interface RowFinding {
  readonly entityId: string;
  readonly kind: 'orphan-effect' | 'orphan-timer' | 'missing-follow-up';
  readonly detail: string;
}

/**
 * The audit's reads and writes (`audit_checkpoints`, `audit_drift`, and the set queries over effects and timers).
 * The set queries run in the database over a machine's whole effect and timer tables and return only offending
 * rows: a row inserted by hand does not move its entity's version, so the checkpoint cannot say it is new.
 */
export function auditStore(client: SqlClient, schemaName: string) {
  const s = quoteIdent(schemaName);
  return {
    /** Saves the checkpoints of one batch (one statement). */
    async saveCheckpoints(machine: string, checkpoints: readonly Checkpoint[], at: Date): Promise<void> {
      if (checkpoints.length === 0) return;
      const rows = checkpoints.map((c) => ({ entity_id: c.entityId, version: c.version, findings: c.findings.length > 0 ? c.findings : null }));
      await client.query(
        `INSERT INTO ${s}.audit_checkpoints (machine, entity_id, version, findings, audited_at)
         SELECT $1::text, r.entity_id, r.version, r.findings, $3::timestamptz
         FROM jsonb_to_recordset($2::text::jsonb) AS r(entity_id text, version int, findings jsonb)
         ON CONFLICT (machine, entity_id) DO UPDATE SET version = excluded.version, findings = excluded.findings, audited_at = excluded.audited_at`,
        [machine, JSON.stringify(rows), at],
      );
    },

    /**
     * The findings kept by checkpoints that still hold (the entity's version has not moved), for the entities a
     * selection picks (history-reads.ts's entityFilter).
     */
    async heldFindings(selection: HistorySelection): Promise<Checkpoint[]> {
      const { where, params } = entityFilter(s, selection);
      const rows = await client.query<{ entity_id: string; version: number; findings: StoredFinding[] }>(
        `SELECT c.entity_id, c.version, c.findings FROM ${s}.audit_checkpoints c
         WHERE c.machine = $1::text AND c.findings IS NOT NULL
           AND (c.entity_id, c.version) IN (SELECT id, version FROM ${s}.entities WHERE ${where})
         ORDER BY c.entity_id`,
        [...params],
      );
      return rows.map((r) => ({ entityId: r.entity_id, version: r.version, findings: r.findings }));
    },

    /** How many entities a selection picks (history-reads.ts's entityFilter). */
    async count(selection: HistorySelection): Promise<number> {
      const { where, params } = entityFilter(s, selection);
      const [row] = await client.query<{ n: number | string }>(`SELECT count(*) AS n FROM ${s}.entities WHERE ${where}`, [...params]);
      return Number(row?.n ?? 0);
    },

    /**
     * Effect and timer rows without a committed transition of their entity behind them, and completed effects whose
     * follow-up event was never answered `graceMs` after completion (a follow-up waiting out a freeze is not drift
     * until then).
     */
    async rowFindings(machine: string, now: Date, graceMs: number): Promise<RowFinding[]> {
      const [effects, timers, followUps] = await Promise.all([
        client.query<{ entity_id: string; id: string; type: string; seq: number }>(
          `SELECT e.entity_id, e.id, e.type, e.seq FROM ${s}.effects e
           WHERE e.machine = $1::text AND NOT EXISTS (
             SELECT 1 FROM ${s}.transitions t WHERE t.id = e.transition_id AND t.machine = e.machine AND t.entity_id = e.entity_id AND t.seq = e.seq)
           ORDER BY e.entity_id, e.id`,
          [machine],
        ),
        client.query<{ entity_id: string; id: string; send_id: string }>(
          `SELECT m.entity_id, m.id, m.send_id FROM ${s}.timers m
           WHERE m.machine = $1::text AND NOT EXISTS (
             SELECT 1 FROM ${s}.transitions t WHERE t.id = m.transition_id AND t.machine = m.machine AND t.entity_id = m.entity_id)
           ORDER BY m.entity_id, m.id`,
          [machine],
        ),
        client.query<{ entity_id: string; id: string; type: string; follow_up_type: string | null }>(
          `SELECT entity_id, id, type, follow_up->>'type' AS follow_up_type FROM ${s}.effects
           WHERE follow_up IS NOT NULL AND follow_up_outcome IS NULL AND status = 'completed' AND machine = $1::text
             AND completed_at < $2::timestamptz
           ORDER BY entity_id, id`,
          [machine, new Date(now.getTime() - graceMs)],
        ),
      ]);
      return [
        ...effects.map((e) => ({ entityId: e.entity_id, kind: 'orphan-effect' as const, detail: `effect ${e.id} (${e.type}) names seq ${e.seq}, which the entity's history does not have` })),
        ...timers.map((t) => ({ entityId: t.entity_id, kind: 'orphan-timer' as const, detail: `timer ${t.id} (${t.send_id}) has no transition of the entity behind it` })),
        ...followUps.map((f) => ({
          entityId: f.entity_id,
          kind: 'missing-follow-up' as const,
          detail: `effect ${f.id} (${f.type}) completed, but its follow-up ${f.follow_up_type ?? ''} was never answered by the gate`,
        })),
      ];
    },

    /** Replaces a machine's row per kind in `audit_drift` (what the gauge shows), zeros included. */
    async saveDrift(machine: string, counts: ReadonlyMap<string, number>, at: Date): Promise<void> {
      const rows = [...counts].map(([kind, entities]) => ({ kind, entities }));
      await client.transaction(async (tx) => {
        await tx.query(`DELETE FROM ${s}.audit_drift WHERE machine = $1::text`, [machine]);
        await tx.query(
          `INSERT INTO ${s}.audit_drift (machine, kind, entities, at)
           SELECT $1::text, r.kind, r.entities, $3::timestamptz FROM jsonb_to_recordset($2::text::jsonb) AS r(kind text, entities int)`,
          [machine, JSON.stringify(rows), at],
        );
      });
    },

    /** The last run's drift per machine and kind. */
    async drift(): Promise<Array<{ machine: string; kind: string; entities: number }>> {
      return client.query(`SELECT machine, kind, entities FROM ${s}.audit_drift ORDER BY machine, kind`);
    },
  };
}

/** The audit's store of one runtime. */
export type AuditStore = ReturnType<typeof auditStore>;
