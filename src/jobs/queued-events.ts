import { Queue, type JobType } from 'bullmq';
import { Redis } from 'ioredis';

/** An event `tg.enqueue` put on the events queue that no worker has taken yet. */
export interface QueuedEvent {
  readonly jobId: string;
  readonly machine: string;
  readonly entityId: string;
  /** The event's type; `(none)` when the job carries no event type. */
  readonly type: string;
}

/** Where the events queue is: the worker's Redis, key prefix and namespace (the tollgate schema). */
export interface QueuedEventsOptions {
  /** Redis URL, as the worker is given it (`REDIS_URL`, `--redis-url`, the config's `redis`). Required. */
  readonly redisUrl: string;
  /** BullMQ key prefix. Default `tollgate`. */
  readonly prefix?: string;
  /** Queue namespace: the queue is `<namespace>-events`. Default `tollgate`. */
  readonly namespace?: string;
  /** Jobs read per Redis call. Default 500. */
  readonly pageSize?: number;
}

// Jobs no worker holds: waiting (a paused queue's too), delayed (a retry's backoff, a deploy-skew deferral), prioritised.
const unclaimed: readonly JobType[] = ['waiting', 'delayed', 'prioritized'];

/**
 * Reads, page by page, the events queued for the event workers that no worker has taken yet; it never takes, moves
 * or changes a job (BullMQ's read-only `getJobs`). Jobs are read per state in pages while workers may be taking them:
 * a job that moves between pages is counted once (by id), one taken meanwhile may be missed.
 *
 * @example
 * for await (const page of readQueuedEvents({ redisUrl: process.env.REDIS_URL!, namespace: 'tollgate' })) console.log(page.length);
 */
export async function* readQueuedEvents(options: QueuedEventsOptions): AsyncGenerator<readonly QueuedEvent[]> {
  const pageSize = options.pageSize ?? 500;
  // Fail at once when Redis is not there, instead of BullMQ's reconnecting forever.
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 5_000, lazyConnect: true });
  let lastError: unknown;
  connection.on('error', (error: unknown) => (lastError = error));
  try {
    await connection.connect();
  } catch (error) {
    // ioredis rejects with "Connection is closed"; the socket's error (ECONNREFUSED...) says why: keep it as the cause.
    connection.disconnect();
    throw new Error(`Redis at ${new URL(options.redisUrl).host} cannot be reached to read the queued events: ${String((lastError as Error | undefined)?.message ?? error)}`, { cause: lastError ?? error });
  }
  const queue = new Queue(`${options.namespace ?? 'tollgate'}-events`, { connection, prefix: options.prefix ?? 'tollgate' });
  queue.on('error', () => {});
  const seen = new Set<string>();
  try {
    for (const state of unclaimed) {
      for (let start = 0; ; start += pageSize) {
        const jobs = await queue.getJobs([state], start, start + pageSize - 1, true);
        const page: QueuedEvent[] = [];
        for (const job of jobs) {
          // getJobs leaves a hole for a job removed between its listing and its read.
          if (!job?.id || seen.has(job.id)) continue;
          seen.add(job.id);
          const data = (job.data ?? {}) as { machine?: unknown; entityId?: unknown; event?: { type?: unknown } | null };
          page.push({
            jobId: job.id,
            machine: String(data.machine ?? '(none)'),
            entityId: String(data.entityId ?? '(none)'),
            type: typeof data.event?.type === 'string' ? data.event.type : '(none)',
          });
        }
        if (page.length) yield page;
        if (jobs.length < pageSize) break;
      }
    }
  } finally {
    await queue.close().catch(() => {});
    connection.disconnect();
  }
}
