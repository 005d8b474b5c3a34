import { systemClock, type Clock } from '../clock.ts';
import { startLoop } from '../jobs/loop.ts';
import type { ProcessLogger } from '../jobs/logger.ts';
import type { JobMetrics } from '../observe/job-metrics.ts';
import { resweep } from '../outbox/sweeper.ts';
import type { Transport } from '../jobs/transport.ts';
import type { ArmedTimer, TimerStore } from '../store/timer-store.ts';

/** The job of one timer. */
export interface TimerJobData {
  readonly timerId: string;
  readonly machine: string;
  readonly entityId: string;
}

/** Options of the timer scheduler. */
export interface TimerSchedulerOptions {
  readonly transport: Transport;
  readonly clock: Clock;
  /**
   * Arm timers due within this horizon (a delayed job each). Far timers stay in Postgres only, so Redis holds few
   * of them and loses little. Default 60,000 ms on the system clock, 0 on any other clock (a simulated clock moves
   * in jumps; timers are armed once due).
   */
  readonly horizonMs?: number;
  /** How often to look for timers to arm. Default 1,000 ms (and on every advance of a ManualClock). */
  readonly pollIntervalMs?: number;
  /** Timers armed per round. Default 500. */
  readonly batchSize?: number;
  readonly logger: ProcessLogger;
}

/** A running scheduler. */
export interface TimerScheduler {
  /** Arms what is due within the horizon now; how many. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Hands due (or nearly due) timers to the transport as delayed jobs keyed by timer id. A round claims and marks
 * armed in one statement (`FOR UPDATE SKIP LOCKED`: several schedulers never arm one timer twice) that commits
 * before the add, as the relay does with effects: no timer row stays locked while Redis is slow or unreachable, so
 * a transition that cancels or fires a timer never waits on a scheduler. A scheduler that dies between the two, or
 * an add that fails, leaves armed timers without a job: the timer sweeper re-arms them (`sweepTimers`).
 */
export function startTimerScheduler(store: TimerStore, options: TimerSchedulerOptions): TimerScheduler {
  const { clock, transport } = options;
  const horizonMs = options.horizonMs ?? (clock === systemClock ? 60_000 : 0);
  const batchSize = options.batchSize ?? 500;
  const runOnce = async () => {
    const rows = await store.arm(new Date(clock.now() + horizonMs), batchSize);
    if (rows.length > 0) await transport.add('timers', rows.map(timerJob));
    return rows.length;
  };
  const loop = startLoop(async () => (await runOnce()) === batchSize, options.pollIntervalMs ?? 1000, (error) =>
    options.logger.error({ err: error }, 'timer scheduler round failed; retrying at the next poll'),
  );
  const unsubscribe = (clock as { onAdvance?: (fn: () => void) => () => void }).onAdvance?.(() => loop.wake());
  return {
    runOnce,
    async stop() {
      unsubscribe?.();
      await loop.stop();
    },
  };
}

export function timerJob(r: ArmedTimer) {
  return {
    id: r.id,
    data: { timerId: r.id, machine: r.machine, entityId: r.entity_id } satisfies TimerJobData,
    dueAt: new Date(r.due_at).getTime(),
  };
}

/**
 * Re-arms scheduled timers whose job is gone (Redis flushed or restarted, the process holding the in-process
 * queue exited): timers survive restarts of every process and of Redis.
 */
export async function sweepTimers(
  store: TimerStore,
  transport: Transport,
  metrics: JobMetrics,
  options: { minAgeMs?: number; limit?: number } = {},
): Promise<string[]> {
  return resweep<ArmedTimer>({
    transport,
    queue: 'timers',
    select: () => store.armedBefore(options.minAgeMs ?? 5000, options.limit ?? 500),
    touch: store.rearm,
    toJob: timerJob,
    metrics,
  });
}
