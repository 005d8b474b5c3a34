import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Sources the scrape-time gauges read; set by whoever runs the relay in this process. */
interface OutboxSources {
  pending?: () => Promise<{ count: number; oldestAgeSeconds: number }>;
}

/**
 * The metrics of the job processes (relay and sweepers, effect, event and timer workers), registered on `registry`.
 * A runtime builds them on first use (`RuntimeContext.jobMetrics`), so a process that runs no jobs exposes none, and
 * relay, workers and timers in one process share them.
 */
export function createJobMetrics(registry: Registry) {
  const sources: OutboxSources = {};
  let last = { count: 0, oldestAgeSeconds: 0 };
  const readPending = async () => {
    if (!sources.pending) return last;
    try {
      last = await sources.pending();
    } catch {
      // A scrape during shutdown or a database blip keeps the last reading.
    }
    return last;
  };
  const transitions = () => {
    const metric = registry.getSingleMetric('tollgate_transitions_total') as Counter | undefined;
    return metric ? sumOf(metric) : Promise.resolve(0);
  };
  const compensations = new Counter({
    name: 'tollgate_compensations_total',
    help: 'Compensation events sent after an effect failed for good, by machine, effect type and event.',
    labelNames: ['machine', 'type', 'event'] as const,
    registers: [registry],
  });
  const metrics = {
    sources,
    pending: new Gauge({
      name: 'tollgate_outbox_pending',
      help: 'Effects committed but not yet handed to the transport.',
      registers: [registry],
      async collect() {
        this.set((await readPending()).count);
      },
    }),
    outboxLag: new Gauge({
      name: 'tollgate_outbox_lag_seconds',
      help: 'Age of the oldest effect not yet handed to the transport (0 when none).',
      registers: [registry],
      async collect() {
        this.set((await readPending()).oldestAgeSeconds);
      },
    }),
    dispatched: new Counter({
      name: 'tollgate_effects_dispatched_total',
      help: 'Effects handed to the transport by the relay (sweeper re-dispatches counted separately).',
      registers: [registry],
    }),
    startLag: new Histogram({
      name: 'tollgate_effect_start_lag_seconds',
      help: 'From the commit of the transition to the start of its effect handler (first run).',
      labelNames: ['type'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 300],
      registers: [registry],
    }),
    outcomes: new Counter({
      name: 'tollgate_effect_outcomes_total',
      help: 'Effect runs by type and outcome: completed, retried, failed, skipped (already settled), duplicate (another run recorded first), no_handler, no_machine (left for a worker that knows the machine), abandoned (aborted by a shutdown; runs again).',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    }),
    compensations,
    compensationsPer1000: new Gauge({
      name: 'tollgate_compensations_per_1000_transitions',
      help: 'Compensations sent per 1,000 committed transitions, counted by this process.',
      registers: [registry],
      async collect() {
        const [c, t] = await Promise.all([sumOf(compensations), transitions()]);
        this.set(t > 0 ? (c * 1000) / t : 0);
      },
    }),
    redispatched: new Counter({
      name: 'tollgate_sweeper_redispatched_total',
      help: 'Jobs the sweepers added again because their job was gone (Redis lost it, a process died).',
      labelNames: ['queue'] as const,
      registers: [registry],
    }),
    timerLag: new Histogram({
      name: 'tollgate_timer_lag_seconds',
      help: 'From a timer\'s due time to its event committing.',
      labelNames: ['machine'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers: [registry],
    }),
    timersFired: new Counter({
      name: 'tollgate_timers_fired_total',
      help: 'Timers whose event went through the gate.',
      labelNames: ['machine'] as const,
      registers: [registry],
    }),
    staleTimers: new Counter({
      name: 'tollgate_timers_stale_total',
      help: 'Timer jobs that fired but were ignored: the timer was cancelled, already fired, or its event refused.',
      labelNames: ['machine', 'reason'] as const,
      registers: [registry],
    }),
    skewDeferred: new Counter({
      name: 'tollgate_deploy_skew_deferred_total',
      help: 'Work a worker left for another because its runtime is older: unknown machine or state, or the entity or event is of a newer machine version. Sustained, it is a release that never finished rolling out (or a machine removed without a migration).',
      labelNames: ['queue', 'machine', 'code'] as const,
      registers: [registry],
    }),
    events: new Counter({
      name: 'tollgate_queued_events_total',
      help: 'Queued events handled by the ingestion worker, by machine and outcome (accepted, replayed, rejected, retried).',
      labelNames: ['machine', 'outcome'] as const,
      registers: [registry],
    }),
  };
  return metrics;
}

export type JobMetrics = ReturnType<typeof createJobMetrics>;

async function sumOf(metric: Counter): Promise<number> {
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}
