import { createHash, randomUUID } from 'node:crypto';
import type { EnqueuedEvent, EventEnqueuer, EventOutcome } from '../src/effects/registry.ts';
import { TollgateError, entityRef } from '../src/errors.ts';
import type { ProcessLogger } from '../src/jobs/logger.ts';
import { JobWaitTimeoutError, type Consumer, type Transport } from '../src/jobs/transport.ts';
import type { RuntimePorts } from '../src/runtime/ports.ts';
import { classifyGateError, deploySkewRetryMs, versionAhead } from '../src/runtime/deploy-skew.ts';
import { canonicalJson } from '../src/runtime/fingerprint.ts';
import { checkIdentifier } from '../src/runtime/identifier.ts';

/** The job of one queued event. */
export interface EventJobData {
  readonly machine: string;
  readonly entityId: string;
  readonly event: unknown;
  readonly idempotencyKey: string;
  readonly actor?: string;
  /** The producer's version of the machine: a worker of an older release leaves the event for a newer one. */
  readonly machineVersion?: number;
}

/**
 * The job id of a queued event: one per (machine, entity, key, event), so enqueueing the same request twice is
 * one job, and reusing a key for another event is another job that the gate refuses with
 * TG_IDEMPOTENCY_KEY_REUSED (instead of silently answering with the first event's outcome).
 */
export function eventJobId(machine: string, entityId: string, key: string, event: unknown): string {
  return `ev-${createHash('sha256').update(canonicalJson([machine, entityId, key, event])).digest('hex').slice(0, 40)}`;
}

/** The producer behind `tg.enqueue`. */
export function eventEnqueuer(transport: Transport, machineVersion: (machine: string) => number): EventEnqueuer {
  return async (machine, entityId, event, options) => {
    const key = checkIdentifier('idempotency key', options.idempotencyKey ?? randomUUID(), machine);
    const jobId = eventJobId(machine, entityId, key, event);
    const data: EventJobData = {
      machine,
      entityId,
      event,
      idempotencyKey: key,
      machineVersion: machineVersion(machine),
      ...(options.actor ? { actor: options.actor } : {}),
    };
    await transport.add('events', [{ id: jobId, data }]);
    const queued: EnqueuedEvent = {
      jobId,
      idempotencyKey: key,
      async outcome({ timeoutMs = 30_000 } = {}) {
        try {
          return (await transport.waitFor('events', jobId, timeoutMs)) as EventOutcome;
        } catch (error) {
          const ref = entityRef(machine, entityId);
          if (error instanceof JobWaitTimeoutError) {
            throw new TollgateError('TG_ENQUEUE_TIMEOUT', `The queued event for ${ref} (key '${key}') has no outcome after ${timeoutMs} ms; it may still run. Wait again or read the entity.`, { machine, entityId, jobId }, { cause: error });
          }
          throw new TollgateError('TG_EVENT_FAILED', `The queued event for ${ref} (key '${key}') failed for good: ${error instanceof Error ? error.message : String(error)}. Enqueue it again with the same key.`, { machine, entityId, jobId }, { cause: error });
        }
      },
    };
    return queued;
  };
}

/** What the ingestion worker needs of the runtime. */
export type EventWorkerPort = Pick<RuntimePorts, 'definition' | 'refusesVersion' | 'send' | 'jobMetrics'>;

/**
 * Starts the ingestion worker: each queued event goes through the gate with its idempotency key (a re-delivered
 * job replays instead of applying twice). Coded rejections are final outcomes: recorded by the gate, the job
 * completes with the rejection. Retryable errors (TG_VERSION_CONFLICT, the database) are retried by the
 * transport with backoff.
 */
export function startEventWorker(port: EventWorkerPort, options: { transport: Transport; concurrency?: number; logger: ProcessLogger }): Consumer {
  const metrics = port.jobMetrics();
  return options.transport.consume<EventJobData>(
    'events',
    async ({ data }) => {
      try {
        // An event of a newer release may be of a type, or carry fields, this runtime's schemas do not know yet.
        const definition = port.definition(data.machine);
        if (data.machineVersion !== undefined && port.refusesVersion(definition, data.machineVersion)) {
          throw versionAhead(data.machine, data.entityId, data.machineVersion, definition.version, 'The queued event');
        }
        const sent = await port.send(data.machine, data.entityId, data.event, { idempotencyKey: data.idempotencyKey, actor: data.actor });
        metrics.events.inc({ machine: data.machine, outcome: sent.replayed ? 'replayed' : 'accepted' });
        const value: EventOutcome = { status: 'accepted', transitionId: sent.transition.id, state: sent.entity.state, replayed: sent.replayed };
        return { value };
      } catch (error) {
        const sorted = classifyGateError(error);
        if (sorted.kind === 'skew') {
          // Not this worker's to judge (an older release's worker): left for one that knows the machine.
          metrics.events.inc({ machine: data.machine, outcome: 'retried' });
          metrics.skewDeferred.inc({ queue: 'events', machine: data.machine, code: sorted.error.code });
          options.logger.warn({ machine: data.machine, entityId: data.entityId }, `queued event left for a worker that knows machine '${data.machine}' (version ${data.machineVersion ?? '?'})`);
          return { retryInMs: deploySkewRetryMs };
        }
        // A freeze answers a queued event at once (TG_FROZEN, retryable by whoever queued it), as it answers a send.
        if (sorted.kind === 'final' || sorted.kind === 'frozen') {
          metrics.events.inc({ machine: data.machine, outcome: 'rejected' });
          const value: EventOutcome = { status: 'rejected', code: sorted.error.code, message: sorted.error.message };
          return { value };
        }
        metrics.events.inc({ machine: data.machine, outcome: 'retried' });
        throw error;
      }
    },
    { concurrency: options.concurrency ?? 16 },
  );
}
