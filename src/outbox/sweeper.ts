import type { OutboxStore } from '../store/outbox-store.ts';
import type { JobMetrics } from '../observe/job-metrics.ts';
import { effectJobOfRow } from './effect-job.ts';
import type { NewJob, QueueKind, Transport } from '../jobs/transport.ts';

/** One sweep: rows that should have a live job, checked against the transport, re-added where the job is gone. */
export interface Resweep<R extends { id: string }> {
  readonly transport: Transport;
  readonly queue: QueueKind;
  /** Candidate rows (old enough that their job must exist). */
  select(): Promise<R[]>;
  /** Re-checks and touches the rows whose job is gone; returns the ids to re-add. */
  touch(ids: readonly string[]): Promise<string[]>;
  readonly toJob: (row: R) => NewJob;
  readonly metrics: JobMetrics;
}

/** Runs one sweep; returns the ids re-added. */
export async function resweep<R extends { id: string }>(w: Resweep<R>): Promise<string[]> {
  const rows = await w.select();
  if (rows.length === 0) return [];
  const live = await w.transport.present(w.queue, rows.map((r) => r.id));
  const gone = rows.filter((r) => !live.has(r.id));
  if (gone.length === 0) return [];
  // Touch first (conditionally): a row settled since the select is not re-added.
  const touched = new Set(await w.touch(gone.map((r) => r.id)));
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
export async function sweepEffects(store: OutboxStore, transport: Transport, metrics: JobMetrics, options: EffectSweepOptions = {}): Promise<string[]> {
  const limit = options.limit ?? 500;
  const open = await resweep({
    transport,
    queue: 'effects',
    select: () => store.dispatchedBefore(options.minAgeMs ?? 5000, limit),
    touch: store.redispatch,
    toJob: effectJobOfRow,
    metrics,
  });
  const followUps = await resweep({
    transport,
    queue: 'effects',
    select: () => store.unsentFollowUps(limit),
    touch: store.stillUnsent,
    toJob: effectJobOfRow,
    metrics,
  });
  return [...open, ...followUps];
}
