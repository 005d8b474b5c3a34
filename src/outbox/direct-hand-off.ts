import type { CommittedEffect, EffectHandOff } from '../store/commit.ts';
import { faultPoint } from '../jobs/faults.ts';
import type { ProcessLogger } from '../jobs/logger.ts';
import type { JobMetrics } from '../observe/job-metrics.ts';
import { effectJob } from './effect-job.ts';
import type { Transport } from '../jobs/transport.ts';

/** A running direct hand-off. */
export interface DirectHandOff extends EffectHandOff {
  /** Resolves when every effect taken so far was added, or its add failed. */
  drain(): Promise<void>;
}

/** What the direct hand-off needs. */
export interface DirectHandOffOptions {
  readonly transport: Transport;
  readonly metrics: JobMetrics;
  readonly logger: ProcessLogger;
  /** Jobs per add. Default 500. */
  readonly batchSize?: number;
}

/**
 * The relay's input for commits made in its own process: the commit writes its effect rows already dispatched
 * and hands them here, and they are added at once. That takes the NOTIFY, the relay's wake-up and its claim
 * statement off every effect's way to a worker. Adds are coalesced: at most one is in flight, and the next carries
 * every effect taken meanwhile, so under load an add carries many jobs.
 *
 * Nothing is lost: an add that fails, or a process that dies between the commit and the add, leaves effects
 * dispatched with no job. That is what a relay that dies after its claim leaves, and the sweeper re-adds them
 * (`sweepEffects`: dispatched longer than `sweepMinAgeMs` ago, job gone).
 */
export function directHandOff(options: DirectHandOffOptions): DirectHandOff {
  const batchSize = options.batchSize ?? 500;
  let waiting: CommittedEffect[] = [];
  let inFlight: Promise<void> | undefined;
  const add = async (batch: CommittedEffect[]) => {
    try {
      await faultPoint('relay.after-commit-before-add');
      await options.transport.add('effects', batch.map(effectJob));
      options.metrics.dispatched.inc(batch.length);
    } catch (error) {
      options.logger.error({ err: error, effects: batch.length }, 'adding the jobs of committed effects failed; the sweeper re-adds them');
    }
  };
  const flush = (): void => {
    if (inFlight || waiting.length === 0) return;
    const batch = waiting.length > batchSize ? waiting.splice(0, batchSize) : waiting;
    if (batch === waiting) waiting = [];
    inFlight = add(batch).finally(() => {
      inFlight = undefined;
      flush();
    });
  };
  return {
    take(effects) {
      waiting.push(...effects);
      flush();
    },
    async drain() {
      while (inFlight) await inFlight;
    },
  };
}
