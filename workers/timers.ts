import type { Clock } from '../src/clock.ts';
import { isTollgateError } from '../src/errors.ts';
import type { ProcessLogger } from '../src/jobs/logger.ts';
import type { Consumer, JobResult, Transport } from '../src/jobs/transport.ts';
import type { RuntimePorts } from '../src/runtime/ports.ts';
import { classifyGateError, deploySkewRetryMs, frozenRetryMs } from '../src/runtime/deploy-skew.ts';
import type { TimerJobData } from '../src/timers/scheduler.ts';

/** Options of the timer worker. */
export interface TimerWorkerOptions {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly concurrency?: number;
  readonly logger: ProcessLogger;
}

/** What the timer worker needs of the runtime. */
export type TimerWorkerPort = Pick<RuntimePorts, 'send' | 'timerStore' | 'jobMetrics'>;

/** A job that fired before its due time on the runtime's clock waits at least this long before looking again. */
const minEarlyWaitMs = 50;

/**
 * Fires timer jobs: the timer's event goes through the gate as an internal event, with the timer id as
 * idempotency key and `firedTimerId` (the commit marks the row fired). A timer whose row is no longer
 * `scheduled` (cancelled by a later transition, or fired already) is stale: ignored and counted. A timer whose
 * event the gate refuses (the entity moved on without cancelling it, or the machine throws on it: TG_MACHINE_FAULT,
 * reason `machine_fault`) is marked stale and counted, never retried; the gate recorded the refusal with its message.
 * A worker that does not know the timer's machine or state (deploy-skew.ts) leaves it scheduled and looks again
 * later; so does one whose timer meets a freeze (every `frozenRetryMs`, so it fires about that long after the unfreeze).
 */
export function startTimerWorker(port: TimerWorkerPort, options: TimerWorkerOptions): Consumer {
  return options.transport.consume<TimerJobData>('timers', (job) => fireTimer(port, job.data.timerId, options), { concurrency: options.concurrency ?? 16 });
}

/**
 * Fires one timer as the worker does (see startTimerWorker): the job's whole decision, without the queue. The
 * differential test drives timers through it so that it checks the worker's own handling of refusals and faults.
 */
export async function fireTimer(port: TimerWorkerPort, timerId: string, options: Pick<TimerWorkerOptions, 'clock' | 'logger'>): Promise<JobResult> {
  const metrics = port.jobMetrics();
  const { clock } = options;
  const timer = await port.timerStore.read(timerId);
  if (!timer) return {};
  if (timer.status !== 'scheduled') {
    metrics.staleTimers.inc({ machine: timer.machine, reason: timer.status });
    return {};
  }
  const early = new Date(timer.due_at).getTime() - clock.now();
  if (early > 0) return { retryInMs: Math.max(early, minEarlyWaitMs) };
  try {
    await port.send(timer.machine, timer.entity_id, timer.event, { internal: true, firedTimerId: timer.id, idempotencyKey: timer.id, deferrable: true });
    metrics.timersFired.inc({ machine: timer.machine });
    metrics.timerLag.observe({ machine: timer.machine }, Math.max(0, clock.now() - new Date(timer.due_at).getTime()) / 1000);
  } catch (error) {
    if (isTollgateError(error, 'TG_TIMER_SETTLED')) {
      // Cancelled (or fired) between the read above and the commit: stale, as if the read had seen it.
      metrics.staleTimers.inc({ machine: timer.machine, reason: String(error.details.timerStatus) });
      return {};
    }
    const sorted = classifyGateError(error);
    if (sorted.kind === 'frozen' || isTollgateError(error, 'TG_MACHINE_SHADOWED')) {
      // A machine in shadow mode waits like a frozen one: the legacy system moves its entities, and a move cancels
      // the timer; one still scheduled when the machine is switched to enforce fires then.
      // A freeze holds the timer's event: the timer stays scheduled and fires after the unfreeze.
      return { retryInMs: frozenRetryMs };
    }
    if (sorted.kind === 'skew') {
      // This worker predates the timer's machine or state (a rolling deploy): leave it scheduled for one that knows.
      const code = sorted.error.code;
      metrics.skewDeferred.inc({ queue: 'timers', machine: timer.machine, code });
      options.logger.warn({ machine: timer.machine, entityId: timer.entity_id, timerId: timer.id, code }, `timer event '${timer.event.type}' left for a worker that knows machine '${timer.machine}'`);
      return { retryInMs: deploySkewRetryMs };
    }
    if (sorted.kind !== 'final') throw error;
    const refused = sorted.error;
    await port.timerStore.markStale(timer.id, new Date(clock.now()));
    // A machine that throws on the timer's event throws again on every retry: stale for good, like a refusal.
    const reason = refused.code === 'TG_MACHINE_FAULT' ? 'machine_fault' : 'refused';
    metrics.staleTimers.inc({ machine: timer.machine, reason });
    options.logger.warn(
      { machine: timer.machine, entityId: timer.entity_id, timerId: timer.id, code: refused.code, reason: refused.message },
      `timer event '${timer.event.type}' refused: marked stale`,
    );
  }
  return {};
}
