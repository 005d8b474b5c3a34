import type { SqlClient } from '../store/sql-client.ts';
import { planEachRun, quoteIdent } from '../store/sql-client.ts';
import { idsOf } from '../store/ids.ts';
import type { JobMetrics } from '../jobs/job-metrics.ts';
import { effectJobOfRow } from './effect-job.ts';
import type { NewJob, QueueKind, Transport } from '../jobs/transport.ts';

/** One sweep: rows that should have a live job, checked against the transport, re-added where the job is gone. */
export interface Resweep<R extends { id: string }> {
  readonly client: SqlClient;
  readonly transport: Transport;
  readonly queue: QueueKind;
  /** Candidate rows (old enough that their job must exist). */
  readonly selectSql: string;
  readonly selectParams: readonly unknown[];
  /** Re-checks and touches the rows whose job is gone; `$1` is the JSON array of ids; returns the ids to re-add. */
  readonly touchSql: string;
  readonly toJob: (row: R) => NewJob;
  readonly metrics: JobMetrics;
}

/** Runs one sweep; returns the ids re-added. */
export async function resweep<R extends { id: string }>(w: Resweep<R>): Promise<string[]> {
  const rows = await w.client.query<R>(w.selectSql, w.selectParams, planEachRun);
  if (rows.length === 0) return [];
  const live = await w.transport.present(w.queue, rows.map((r) => r.id));
  const gone = rows.filter((r) => !live.has(r.id));
  if (gone.length === 0) return [];
  // Touch first (conditionally): a row settled since the select is not re-added.
  const touched = new Set(
    (await w.client.query<{ id: string }>(w.touchSql, [JSON.stringify(gone.map((r) => r.id))], planEachRun)).map((r) => r.id),
  );
  const again = gone.filter((r) => touched.has(r.id));
  await w.transport.readd(w.queue, again.map(w.toJob));
  w.metrics.redispatched.inc({ queue: w.queue }, again.length);
  return again.map((r) => r.id);
}

/** Options of the effect sweeper. */
export interface EffectSweepOptions {
  /** Only effects dispatched at least this long ago (database time): younger jobs may still be on their way. Default 5,000 ms. */
  readonly minAgeMs?: number;
  /** Rows checked per sweep. Default 500. */
  readonly limit?: number;
}

/**
 * Finds effects whose job is gone and dispatches them again: dispatched effects (Redis flushed or restarted
 * without persistence, a job failed after too many stalls) and settled effects whose follow-up event never went
 * out (the worker died between recording and sending; the re-run's skip path sends it).
 */
export async function sweepEffects(
  client: SqlClient,
  schema: string,
  transport: Transport,
  metrics: JobMetrics,
  options: EffectSweepOptions = {},
): Promise<string[]> {
  const s = quoteIdent(schema);
  const limit = options.limit ?? 500;
  const open = await resweep({
    client,
    transport,
    queue: 'effects',
    selectSql: `SELECT id, machine, entity_id, type FROM ${s}.effects
      WHERE status = 'dispatched' AND dispatched_at < now() - make_interval(secs => $1::float8 / 1000)
      ORDER BY dispatched_at LIMIT $2::int`,
    selectParams: [options.minAgeMs ?? 5000, limit],
    touchSql: `UPDATE ${s}.effects SET dispatched_at = now()
      WHERE id = ANY(${idsOf('$1')}) AND (status = 'dispatched') IS TRUE RETURNING id`, // IS TRUE: see ids.ts
    toJob: effectJobOfRow,
    metrics,
  });
  const followUps = await resweep({
    client,
    transport,
    queue: 'effects',
    selectSql: `SELECT id, machine, entity_id, type FROM ${s}.effects
      WHERE follow_up IS NOT NULL AND follow_up_outcome IS NULL AND status IN ('completed', 'failed')
      ORDER BY completed_at LIMIT $1::int`,
    selectParams: [limit],
    touchSql: `SELECT id FROM ${s}.effects WHERE id = ANY(${idsOf('$1')}) AND follow_up_outcome IS NULL`,
    toJob: effectJobOfRow,
    metrics,
  });
  return [...open, ...followUps];
}
