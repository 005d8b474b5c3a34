import { DelayedError, Job, Queue, QueueEvents, Worker, type JobsOptions } from 'bullmq';
import { systemClock, type Clock } from '../../clock.ts';
import { settlesWithin } from '../deadline.ts';
import {
  JobFailedError,
  JobWaitTimeoutError,
  maxDeliveries as defaultMaxDeliveries,
  backoffJitter,
  throwBackoffMs,
  type Consumer,
  type ConsumeOptions,
  type JobHandler,
  type NewJob,
  type QueueKind,
  type Transport,
} from '../transport.ts';

/** Options of the BullMQ transport. */
export interface BullmqTransportOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379`. Required. */
  readonly redisUrl: string;
  /** Key prefix of every queue. Default `tollgate`. */
  readonly prefix?: string;
  /** Queue names are `<namespace>-effects|timers|events`; use the tollgate schema name. Default `tollgate`. */
  readonly namespace?: string;
  /** The clock `dueAt` is read on (timers). Default: system. */
  readonly clock?: Clock;
  /** How long a worker holds a job before it counts as stalled (crashed worker). Default 30,000 ms. */
  readonly lockDurationMs?: number;
  /** How often workers look for stalled jobs. Default 30,000 ms. */
  readonly stalledIntervalMs?: number;
  /** Stalls after which BullMQ fails a job (the sweeper re-adds it from Postgres). Default 5. */
  readonly maxStalledCount?: number;
  /** Deliveries of a job whose handler keeps throwing before it ends failed. Default 10. */
  readonly maxDeliveries?: number;
}

/** How long a close that waits for Redis (QUIT), or aborted handlers, may take before the connections are dropped. */
const forceAfterMs = 1_000;
/**
 * How long to wait for a dropped connection's 'end'. ioredis never emits it for a connection already lost and
 * reconnecting, although the disconnect has stopped it for good.
 */
const disconnectWaitMs = 200;

/** Events jobs keep their outcome this long for `waitFor`. */
const keepEventOutcomesSeconds = 24 * 3600;

/**
 * BullMQ (Redis) transport: one queue per kind, job id = the effect / timer id (neither has `:` nor looks like
 * an integer). Handler retries use `moveToDelayed` + `DelayedError`, so retry policy stays with the worker that
 * knows the effect type, not with whoever added the job. Completed effect and timer jobs are removed at once:
 * re-adding an id later runs it again, and the worker's Postgres check turns that run into a no-op.
 *
 * @example
 * const transport = bullmqTransport({ redisUrl: 'redis://127.0.0.1:6379', namespace: 'tollgate' });
 */
export function bullmqTransport(options: BullmqTransportOptions): Transport {
  if (!options.redisUrl) throw new Error('bullmqTransport: redisUrl is required');
  const clock = options.clock ?? systemClock;
  const maxDeliveries = options.maxDeliveries ?? defaultMaxDeliveries;
  const prefix = options.prefix ?? 'tollgate';
  const namespace = options.namespace ?? 'tollgate';
  const connection = { url: options.redisUrl, maxRetriesPerRequest: null };
  const queues = new Map<QueueKind, Queue>();
  const workers = new Set<Worker>();
  // One QueueEvents per kind, shared by every waitFor once it is reading: a waiter that attached to a reader not
  // yet started would miss a completion that lands in between (the reader starts at the stream's end).
  const listeners = new Map<QueueKind, Promise<QueueEvents>>();
  const name = (kind: QueueKind) => `${namespace}-${kind}`;
  const queue = (kind: QueueKind): Queue => {
    let q = queues.get(kind);
    if (!q) {
      q = new Queue(name(kind), { connection, prefix });
      q.on('error', () => {}); // reconnects on its own; callers see failed commands
      q.setMaxListeners(0); // every waitFor listens for the queue closing
      queues.set(kind, q);
    }
    return q;
  };
  const jobOptions = (kind: QueueKind, job: NewJob): JobsOptions => {
    const delay = job.dueAt !== undefined ? Math.max(0, job.dueAt - clock.now()) : Math.max(0, job.delayMs ?? 0);
    return {
      jobId: job.id,
      delay,
      attempts: maxDeliveries,
      // Jitter: writers that lost the same race must not all come back at the same instant and race again.
      backoff: { type: 'exponential', delay: throwBackoffMs(1), jitter: backoffJitter },
      removeOnComplete: kind === 'events' ? { age: keepEventOutcomesSeconds } : true,
      removeOnFail: { age: keepEventOutcomesSeconds },
    };
  };
  const add = async (kind: QueueKind, jobs: readonly NewJob[]) => {
    if (jobs.length === 0) return;
    await queue(kind).addBulk(jobs.map((job) => ({ name: kind, data: job.data, opts: jobOptions(kind, job) })));
  };

  return {
    kind: 'bullmq',
    add,
    async readd(kind, jobs) {
      const q = queue(kind);
      // A failed (or kept completed) job still owns its id: remove it so the add is not ignored.
      await Promise.all(
        jobs.map(async (job) => {
          const state = await q.getJobState(job.id);
          if (state === 'failed' || state === 'completed') await q.remove(job.id);
        }),
      );
      await add(kind, jobs);
    },
    async present(kind, ids) {
      const q = queue(kind);
      const states = await Promise.all(ids.map((id) => q.getJobState(id)));
      return new Set(ids.filter((_, i) => !['unknown', 'failed', 'completed'].includes(states[i] as string)));
    },
    consume<T>(kind: QueueKind, handler: JobHandler<T>, opts: ConsumeOptions = {}): Consumer {
      const worker = new Worker(
        name(kind),
        async (job: Job, token?: string, signal?: AbortSignal) => {
          const result = await handler({
            id: job.id as string,
            data: job.data as T,
            delivery: job.attemptsMade + (job.stalledCounter ?? 0) + 1,
            signal: signal ?? new AbortController().signal,
          });
          if (result.retryInMs !== undefined) {
            await job.moveToDelayed(systemClock.now() + result.retryInMs, token);
            throw new DelayedError();
          }
          return result.value ?? null;
        },
        {
          connection,
          prefix,
          concurrency: opts.concurrency ?? 16,
          lockDuration: options.lockDurationMs ?? 30_000,
          stalledInterval: options.stalledIntervalMs ?? 30_000,
          maxStalledCount: options.maxStalledCount ?? 5,
        },
      );
      // Lost connections and lost locks are reported here; BullMQ reconnects, stalled jobs are re-run.
      worker.on('error', () => {});
      workers.add(worker);
      return {
        async close(deadlineMs = 10_000) {
          const graceful = worker.close();
          if (!(await settlesWithin(graceful, deadlineMs))) {
            // Past the deadline: abort running handlers and leave their jobs to the stalled check. BullMQ's close
            // is started once (a forced close now would return the graceful one) and ends with a QUIT that waits
            // for Redis: if it is still not over, disconnect.
            worker.cancelAllJobs('worker shutting down');
            if (!(await settlesWithin(graceful, forceAfterMs))) await settlesWithin(worker.disconnect(), disconnectWaitMs);
          }
          workers.delete(worker);
        },
      };
    },
    async waitFor(kind, id, timeoutMs) {
      const q = queue(kind);
      let ready = listeners.get(kind);
      if (!ready) {
        const created = new QueueEvents(name(kind), { connection, prefix });
        created.on('error', () => {});
        created.setMaxListeners(0);
        ready = created.waitUntilReady().then(() => created);
        listeners.set(kind, ready);
      }
      const events = await ready;
      const job = await Job.fromId(q, id);
      if (!job) throw new JobFailedError(`no job '${id}' in queue ${name(kind)}`);
      try {
        return await job.waitUntilFinished(events, timeoutMs);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (/timed out/i.test(message)) throw new JobWaitTimeoutError(message);
        throw new JobFailedError(message);
      }
    },
    async close() {
      const closing = (async () => {
        await Promise.all([...workers].map((w) => w.close(true)));
        await Promise.all([...queues.values()].map((q) => q.close()));
        await Promise.all([...listeners.values()].map(async (e) => (await e).close()));
      })();
      // Closing sends QUIT, which waits for a Redis that may be gone: past the deadline, disconnect instead.
      if (!(await settlesWithin(closing, forceAfterMs))) {
        const all = [...workers, ...queues.values(), ...(await Promise.all(listeners.values()))];
        await settlesWithin(Promise.all(all.map((c) => c.disconnect())), disconnectWaitMs);
      }
      workers.clear();
    },
  };
}
