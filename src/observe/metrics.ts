import { Counter, Histogram, Registry } from 'prom-client';

/**
 * The journey-integrity metrics of one runtime, in its own prom-client registry (several runtimes in one process,
 * as in tests, never share counters). Label values are bounded: machine, state and event names come from the
 * registered machines; an event type that failed validation is labelled `(invalid)`.
 */
export function createMetrics() {
  const registry = new Registry();
  const transitions = new Counter({
    name: 'tollgate_transitions_total',
    help: 'Committed transitions by machine, from state, to state and event type.',
    labelNames: ['machine', 'from', 'to', 'event'] as const,
    registers: [registry],
  });
  const rejections = new Counter({
    name: 'tollgate_rejections_total',
    help: 'Refused events (illegal, guard-rejected, policy-denied, frozen, invalid) by machine, state, event and code.',
    labelNames: ['machine', 'state', 'event', 'code'] as const,
    registers: [registry],
  });
  const conflictRetries = new Counter({
    name: 'tollgate_conflict_retries_total',
    help: 'Commits retried because a concurrent writer moved the entity first, by the attempted state pair.',
    labelNames: ['machine', 'from', 'to'] as const,
    registers: [registry],
  });
  const conflicts = new Counter({
    name: 'tollgate_version_conflicts_total',
    help: 'Sends that gave up with TG_VERSION_CONFLICT after exhausting their retries.',
    labelNames: ['machine'] as const,
    registers: [registry],
  });
  const replays = new Counter({
    name: 'tollgate_idempotent_replays_total',
    help: 'Requests answered from a stored result because their idempotency key was already committed.',
    labelNames: ['machine'] as const,
    registers: [registry],
  });
  const timeInState = new Histogram({
    name: 'tollgate_time_in_state_seconds',
    help: 'How long entities stayed in a state, observed when they leave it.',
    labelNames: ['machine', 'state'] as const,
    buckets: [1, 60, 600, 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 14 * 86400, 30 * 86400],
    registers: [registry],
  });
  const frozenRefusals = new Counter({
    name: 'tollgate_frozen_refusals_total',
    help: 'Sends refused with TG_FROZEN because a freeze matched, by machine, state and event.',
    labelNames: ['machine', 'state', 'event'] as const,
    registers: [registry],
  });
  const frozenDeferrals = new Counter({
    name: 'tollgate_frozen_deferrals_total',
    help: "The system's own work (timer firings, effect follow-ups) a freeze held back, to be sent again after it, by machine and event.",
    labelNames: ['machine', 'event'] as const,
    registers: [registry],
  });
  const shadowObservations = new Counter({
    name: 'tollgate_shadow_observations_total',
    help: "Legacy transitions reported in shadow mode, by machine, verdict, the mirror's state and event type (events the machine does not know: '(other)').",
    labelNames: ['machine', 'verdict', 'from', 'event'] as const,
    registers: [registry],
  });
  return { registry, shadowObservations, transitions, rejections, conflictRetries, conflicts, replays, timeInState, frozenRefusals, frozenDeferrals };
}

/** The metrics of one runtime. */
export type Metrics = ReturnType<typeof createMetrics>;
