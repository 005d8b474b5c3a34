import type { Clock } from '../src/clock.ts';
import { describeError, TerminalError, RetryableError } from '../src/effects/errors.ts';
import type { EffectRecord } from '../src/store/effect-store.ts';
import type { EffectContext, RegisteredHandler } from '../src/effects/registry.ts';
import { classifyGateError, deploySkewRetryMs, frozenRetryMs } from '../src/runtime/deploy-skew.ts';
import { faultPoint } from '../src/jobs/faults.ts';
import type { ProcessLogger } from '../src/jobs/logger.ts';
import type { EffectJobData } from '../src/outbox/effect-job.ts';
import type { Consumer, JobResult, RunningJob, Transport } from '../src/jobs/transport.ts';
import type { RuntimePorts } from '../src/runtime/ports.ts';
import type { EffectFollowUpOutcome } from '../src/store/rows.ts';
import { backoffMs } from '../src/backoff.ts';

/** Options of an effect worker. */
export interface EffectWorkerOptions {
  readonly transport: Transport;
  /** Effects run at once. Default 16. */
  readonly concurrency?: number;
  readonly clock: Clock;
  readonly logger: ProcessLogger;
}

/** What an effect worker needs of the runtime. */
export type EffectWorkerPort = Pick<RuntimePorts, 'machines' | 'definition' | 'send' | 'get' | 'effectStore' | 'effectHandlers' | 'jobMetrics'>;

/** How long a worker without a handler for an effect type leaves it before looking again (another worker may have one). */
const noHandlerRetryMs = 30_000;

/**
 * Starts an effect worker: runs the handler registered with `tg.effect(type, ...)` for each effect job.
 *
 * Exactly once, as far as tollgate can make it: before running, the effect row is read, and a completed or failed
 * effect is acknowledged without running (whatever BullMQ re-delivers). The outcome is recorded with a conditional
 * update, so two concurrent runs record once. The handler gets the effect id to pass on as the provider's
 * idempotency key: that covers the one window tollgate cannot close, a crash after the provider acted and before
 * the completion was recorded. Follow-up and compensation events go through the gate with the effect id as
 * idempotency key: applied at most once, and one outcome event per effect (a success and a compensation for the
 * same effect cannot both commit).
 */
export function startEffectWorker(port: EffectWorkerPort, options: EffectWorkerOptions): Consumer {
  const store = port.effectStore;
  const metrics = port.jobMetrics();
  const { clock, logger } = options;

  async function sendFollowUp(effect: EffectRecord, event: { type: string }, compensation: boolean): Promise<JobResult> {
    let outcome: EffectFollowUpOutcome;
    try {
      const sent = await port.send(effect.machine, effect.entity_id, event, {
        idempotencyKey: effect.id,
        actor: `effect/${effect.type}`,
        deferrable: true,
      });
      outcome = { status: sent.replayed ? 'replayed' : 'committed', transitionId: sent.transition.id, state: sent.entity.state };
      if (compensation && !sent.replayed) metrics.compensations.inc({ machine: effect.machine, type: effect.type, event: event.type });
    } catch (error) {
      const sorted = classifyGateError(error);
      if (sorted.kind === 'frozen') {
        // A freeze holds the follow-up: its outcome stays unrecorded, and the job, run again, sends it again (the
        // settled-effect path below) until the freeze is lifted.
        return { retryInMs: frozenRetryMs };
      }
      // A coded, final refusal (illegal now, guard, policy, key already used by the other outcome): the gate
      // recorded it; store it and stop. Anything else (a conflict, the database, a worker that does not know the
      // machine or state: deploy-skew.ts) throws: the job is retried, and a re-run sends the follow-up again.
      if (sorted.kind === 'skew') {
        metrics.skewDeferred.inc({ queue: 'effects', machine: effect.machine, code: sorted.error.code });
        logger.warn({ machine: effect.machine, entityId: effect.entity_id, effectId: effect.id }, `effect follow-up '${event.type}' left for a worker that knows machine '${effect.machine}'`);
        throw error;
      }
      if (sorted.kind !== 'final') throw error;
      outcome = { status: 'rejected', code: sorted.error.code, message: sorted.error.message };
      logger.warn({ machine: effect.machine, entityId: effect.entity_id, effectId: effect.id, code: sorted.error.code }, `effect follow-up '${event.type}' refused`);
    }
    await store.recordFollowUp(effect.id, outcome, compensation && outcome.status !== 'rejected');
    return {};
  }

  async function fail(effect: EffectRecord, error: unknown): Promise<JobResult> {
    const compensation = port.definition(effect.machine).compensations?.[effect.type];
    const followUp = compensation ? { type: compensation } : undefined;
    const recorded = await store.record({ id: effect.id, status: 'failed', error: describeError(error), followUp, at: new Date(clock.now()) });
    metrics.outcomes.inc({ type: effect.type, outcome: recorded ? 'failed' : 'duplicate' });
    logger.warn({ machine: effect.machine, entityId: effect.entity_id, effectId: effect.id, err: error }, `effect '${effect.type}' failed for good`);
    return recorded && followUp ? sendFollowUp(effect, followUp, true) : {};
  }

  async function run(effect: EffectRecord, registered: RegisteredHandler, signal: AbortSignal): Promise<JobResult> {
    const attempt = effect.attempts + 1;
    const ctx: EffectContext = {
      effectId: effect.id,
      type: effect.type,
      params: effect.params,
      machine: effect.machine,
      entityId: effect.entity_id,
      transitionId: effect.transition_id,
      attempt,
      signal,
      entity: () => port.get(effect.machine, effect.entity_id),
    };
    if (attempt === 1) metrics.startLag.observe({ type: effect.type }, Math.max(0, clock.now() - new Date(effect.created_at).getTime()) / 1000);
    let outcome;
    try {
      await faultPoint('effect.mid-handler');
      outcome = (await registered.handler(ctx)) ?? {};
    } catch (error) {
      // Aborted by a shutdown: abandoned, not failed. Record nothing (no attempt used, no compensation); the
      // transport hands the job out again (BullMQ retries it, in-process re-queues it, the sweeper is the backstop).
      if (signal.aborted) {
        metrics.outcomes.inc({ type: effect.type, outcome: 'abandoned' });
        throw error;
      }
      if (error instanceof TerminalError || attempt >= registered.attempts) return fail(effect, error);
      const recorded = await store.record({ id: effect.id, status: 'dispatched', error: describeError(error), at: new Date(clock.now()) });
      metrics.outcomes.inc({ type: effect.type, outcome: recorded ? 'retried' : 'duplicate' });
      if (!recorded) return {};
      const backoff = backoffMs(attempt, { baseMs: registered.backoffMs, maxMs: registered.maxBackoffMs, jitter: [0.75, 1] });
      return { retryInMs: error instanceof RetryableError && error.retryAfterMs !== undefined ? error.retryAfterMs : backoff };
    }
    await faultPoint('effect.before-record');
    const recorded = await store.record({ id: effect.id, status: 'completed', result: outcome.result, followUp: outcome.event, at: new Date(clock.now()) });
    metrics.outcomes.inc({ type: effect.type, outcome: recorded ? 'completed' : 'duplicate' });
    return recorded && outcome.event ? sendFollowUp(effect, outcome.event, false) : {};
  }

  return options.transport.consume<EffectJobData>(
    'effects',
    async (job: RunningJob<EffectJobData>) => {
      const effect = await store.read(job.data.effectId);
      if (!effect) {
        logger.warn({ effectId: job.data.effectId }, 'effect job without an effect row (another schema or database?): dropped');
        return {};
      }
      if (effect.status === 'completed' || effect.status === 'failed') {
        metrics.outcomes.inc({ type: effect.type, outcome: 'skipped' });
        // Settled, but the process died before its follow-up went out: send it now (the gate replays if it did).
        if (effect.follow_up && effect.follow_up_outcome === null) return sendFollowUp(effect, effect.follow_up, effect.status === 'failed');
        return {};
      }
      if (!port.machines.has(effect.machine)) {
        // An older release's worker (a rolling deploy): its follow-up could not go through this runtime's gate, so
        // the handler does not run here; the effect is left for a worker that knows the machine.
        metrics.outcomes.inc({ type: effect.type, outcome: 'no_machine' });
        metrics.skewDeferred.inc({ queue: 'effects', machine: effect.machine, code: 'TG_UNKNOWN_MACHINE' });
        logger.warn({ effectId: effect.id, machine: effect.machine }, `effect '${effect.type}' left for a worker that knows machine '${effect.machine}'`);
        return { retryInMs: deploySkewRetryMs };
      }
      const registered = port.effectHandlers.get(effect.type);
      if (!registered) {
        metrics.outcomes.inc({ type: effect.type, outcome: 'no_handler' });
        logger.error({ effectId: effect.id, type: effect.type }, `no handler registered for effect type '${effect.type}' in this worker (tg.effect)`);
        return { retryInMs: noHandlerRetryMs };
      }
      return run(effect, registered, job.signal);
    },
    { concurrency: options.concurrency ?? 16 },
  );
}
