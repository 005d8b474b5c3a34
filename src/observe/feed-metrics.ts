import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The feed's metrics, registered on `registry` (a runtime builds them on first use: `RuntimeContext.feedMetrics`). Counters count what this process delivered; the lag
 * gauges are set by the process that holds a consumer's lease (labels of consumers it no longer holds are removed).
 */
export function createFeedMetrics(registry: Registry): FeedMetrics {
  const labelNames = ['consumer'] as const;
  const metrics = {
    delivered: new Counter({ name: 'tollgate_feed_delivered_total', help: 'Lifecycle events delivered, by consumer.', labelNames, registers: [registry] }),
    retried: new Counter({ name: 'tollgate_feed_retried_total', help: 'Failed delivery attempts that were retried, by consumer.', labelNames, registers: [registry] }),
    deadLettered: new Counter({
      name: 'tollgate_feed_dead_lettered_total',
      help: 'Lifecycle events dead-lettered (attempts exhausted, or held behind one that was), by consumer.',
      labelNames,
      registers: [registry],
    }),
    lagSeconds: new Gauge({
      name: 'tollgate_feed_lag_seconds',
      help: 'Age of the oldest committed transition a consumer selects and has not yet had (0 when caught up).',
      labelNames,
      registers: [registry],
    }),
    behind: new Gauge({
      name: 'tollgate_feed_behind',
      help: 'Committed transitions a consumer selects and has not yet had (counted up to 100,000).',
      labelNames,
      registers: [registry],
    }),
  };
  return metrics;
}

export interface FeedMetrics {
  readonly delivered: Counter<'consumer'>;
  readonly retried: Counter<'consumer'>;
  readonly deadLettered: Counter<'consumer'>;
  readonly lagSeconds: Gauge<'consumer'>;
  readonly behind: Gauge<'consumer'>;
}

