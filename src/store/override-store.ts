import { quoteIdent, type SqlClient } from './sql-client.ts';

/** An override to write: who asked why, and whether a move no single event makes is allowed. */
export interface OverrideWrite {
  readonly machine: string;
  readonly id: string;
  /** Recorded by the trigger in the `overrides` row and the `$override` history row. */
  readonly reason: string;
  /** Sets `tollgate.override_illegal`: the trigger then allows (and audits) a move no single event makes. */
  readonly illegal: boolean;
}

/** The entity as the override found it (locked). */
export interface OverriddenRow {
  readonly state: string;
  readonly snapshot: { context?: Record<string, unknown> };
}

/** What the override wrote. */
export interface OverrideWritten {
  readonly from: string;
  readonly to: string;
  /** The entity's version after the override (the `$override` history row's seq). */
  readonly version: number;
  readonly cancelledTimers: number;
}

/**
 * The statements of a person's repair of one entity (runtime/override.ts): in one transaction, set
 * `tollgate.override` (and `tollgate.override_illegal`), lock the entity, write the state and snapshot `resolve`
 * gives for it, and cancel its scheduled timers. The database trigger checks the move and writes the audit and
 * `$override` history rows; it refuses an illegal one with SQLSTATE 23001. A throw from `resolve` rolls back.
 */
export function overrideStore(client: SqlClient, schemaName: string) {
  const s = quoteIdent(schemaName);
  return {
    /** Undefined when the entity does not exist (nothing written). */
    async override(write: OverrideWrite, resolve: (row: OverriddenRow) => { readonly state: string; readonly snapshot: unknown }): Promise<OverrideWritten | undefined> {
      return client.transaction(async (tx) => {
        await tx.query(`SELECT set_config('tollgate.override', $1::text, true), set_config('tollgate.override_illegal', $2::text, true)`, [
          write.reason,
          write.illegal ? 'on' : 'off',
        ]);
        const [row] = await tx.query<{ state: string; snapshot: { context?: Record<string, unknown> } }>(
          `SELECT state, snapshot FROM ${s}.entities WHERE machine = $1::text AND id = $2::text FOR UPDATE`,
          [write.machine, write.id],
        );
        if (!row) return undefined;
        const next = resolve(row);
        const [updated] = await tx.query<{ version: number }>(
          `UPDATE ${s}.entities SET state = $3::text, snapshot = $4::text::jsonb WHERE machine = $1::text AND id = $2::text RETURNING version`,
          [write.machine, write.id, next.state, JSON.stringify(next.snapshot)],
        );
        const cancelled = await tx.query(
          `UPDATE ${s}.timers SET status = 'cancelled', settled_at = now() WHERE machine = $1::text AND entity_id = $2::text AND status = 'scheduled' RETURNING id`,
          [write.machine, write.id],
        );
        return { from: row.state, to: next.state, version: (updated as { version: number }).version, cancelledTimers: cancelled.length };
      });
    },
  };
}
