import { systemClock, type Clock } from '../../clock.ts';
import {
  JobFailedError,
  JobWaitTimeoutError,
  maxDeliveries as defaultMaxDeliveries,
  throwBackoffMs,
  type Consumer,
  type ConsumeOptions,
  type JobHandler,
  type NewJob,
  type QueueKind,
  type Transport,
} from '../transport.ts';

/** Options of the in-process transport. */
export interface InProcessTransportOptions {
  /** The clock timer due times (`dueAt`) are read on. A ManualClock fires them when advanced. Default: system. */
  readonly clock?: Clock;
  /** Deliveries of a job whose handler keeps throwing before it ends failed. Default 10. */
  readonly maxDeliveries?: number;
}

type State = 'waiting' | 'delayed' | 'active';

interface Entry {
  readonly id: string;
  readonly data: unknown;
  state: State;
  delivery: number;
  /** Bumped whenever the entry is re-queued, so a late answer of an abandoned run is ignored. */
  run: number;
  dueAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
  /** When a delayed entry is ready again (system clock), for a stop that waits for retries due before its deadline. */
  readyAt?: number;
}

interface Finished {
  readonly ok: boolean;
  readonly value: unknown;
}

interface Queue {
  readonly kind: QueueKind;
  readonly jobs: Map<string, Entry>;
  readonly ready: string[];
  readonly consumers: Set<LocalConsumer>;
  readonly finished: Map<string, Finished>;
  readonly waiters: Map<string, Array<(f: Finished) => void>>;
}

interface LocalConsumer {
  readonly handler: JobHandler;
  readonly concurrency: number;
  readonly running: Map<Entry, AbortController>;
  closing: boolean;
}

// Outcomes of finished event jobs kept for waitFor (BullMQ keeps them in Redis; here a bounded map).
const keepFinished = 10_000;
// Node's setTimeout overflows past 2^31-1 ms; far due times are re-checked at least hourly.
const maxTimerMs = 3_600_000;

/**
 * The embedded transport: queues in this process's memory, same semantics as BullMQ for what tollgate relies on
 * (id dedupe while a job lives, completed effect/timer jobs removed, retries, at-least-once). A process exit loses
 * the queues; the sweepers re-dispatch from Postgres on the next start, which is why Postgres, not this memory,
 * is the record.
 *
 * @example
 * const transport = inProcessTransport({ clock });
 */
export function inProcessTransport(options: InProcessTransportOptions = {}): Transport {
  const clock = options.clock ?? systemClock;
  const maxDeliveries = options.maxDeliveries ?? defaultMaxDeliveries;
  const queues = new Map<QueueKind, Queue>();
  let closed = false;
  const queue = (kind: QueueKind): Queue => {
    let q = queues.get(kind);
    if (!q) {
      q = { kind, jobs: new Map(), ready: [], consumers: new Set(), finished: new Map(), waiters: new Map() };
      queues.set(kind, q);
    }
    return q;
  };

  const unsubscribe = (clock as { onAdvance?: (fn: (now: number) => void) => () => void }).onAdvance?.(() => {
    for (const q of queues.values()) for (const entry of q.jobs.values()) if (entry.state === 'delayed' && entry.dueAt !== undefined) armDue(q, entry);
  });

  function makeReady(q: Queue, entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.dueAt = undefined;
    entry.state = 'waiting';
    q.ready.push(entry.id);
    pump(q);
  }

  /** A delayed entry waiting for the clock: ready when due, else re-checked later (and on every advance). */
  function armDue(q: Queue, entry: Entry): void {
    if (entry.dueAt === undefined) return;
    const wait = entry.dueAt - clock.now();
    if (wait <= 0) return makeReady(q, entry);
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => armDue(q, entry), Math.min(wait, maxTimerMs));
    entry.timer.unref();
  }

  function delay(q: Queue, entry: Entry, ms: number): void {
    entry.state = 'delayed';
    entry.run++;
    if (entry.timer) clearTimeout(entry.timer);
    entry.readyAt = systemClock.now() + Math.max(0, ms);
    entry.timer = setTimeout(() => makeReady(q, entry), Math.max(0, ms));
    entry.timer.unref();
  }

  function finish(q: Queue, entry: Entry, result: Finished): void {
    q.jobs.delete(entry.id);
    if (q.kind === 'events') {
      q.finished.set(entry.id, result);
      if (q.finished.size > keepFinished) q.finished.delete(q.finished.keys().next().value as string);
    }
    for (const resolve of q.waiters.get(entry.id) ?? []) resolve(result);
    q.waiters.delete(entry.id);
  }

  function pump(q: Queue): void {
    for (const consumer of q.consumers) {
      while (!consumer.closing && consumer.running.size < consumer.concurrency && q.ready.length > 0) {
        const entry = q.jobs.get(q.ready.shift() as string);
        if (!entry || entry.state !== 'waiting') continue;
        start(q, consumer, entry);
      }
    }
  }

  function start(q: Queue, consumer: LocalConsumer, entry: Entry): void {
    const controller = new AbortController();
    entry.state = 'active';
    entry.delivery++;
    const run = ++entry.run;
    consumer.running.set(entry, controller);
    const settle = (apply: () => void) => {
      consumer.running.delete(entry);
      // An abandoned run (shutdown deadline) answering late changes nothing: the job was re-queued.
      if (entry.run === run && q.jobs.get(entry.id) === entry) apply();
      pump(q);
    };
    // Deferred, so add() returns before the handler starts (as with a real queue).
    setImmediate(() => {
      consumer
        .handler({ id: entry.id, data: entry.data, delivery: entry.delivery, signal: controller.signal })
        .then(
          (result) =>
            settle(() => {
              if (result.retryInMs !== undefined) {
                // A deferral (a freeze, a deploy skew, a handler's own retry) is not a failed delivery: as with
                // BullMQ's moveToDelayed, it leaves every retry for thrown errors.
                entry.delivery--;
                delay(q, entry, result.retryInMs);
              } else finish(q, entry, { ok: true, value: result.value ?? null });
            }),
          (error: unknown) =>
            settle(() => {
              if (entry.delivery < maxDeliveries) delay(q, entry, throwBackoffMs(entry.delivery, Math.random()));
              else finish(q, entry, { ok: false, value: error });
            }),
        );
    });
  }

  function addOne(kind: QueueKind, job: NewJob): void {
    const q = queue(kind);
    if (q.jobs.has(job.id)) return;
    q.finished.delete(job.id);
    const entry: Entry = { id: job.id, data: job.data, state: 'delayed', delivery: 0, run: 0, dueAt: job.dueAt, timer: undefined };
    q.jobs.set(job.id, entry);
    if (job.dueAt !== undefined) armDue(q, entry);
    else if (job.delayMs && job.delayMs > 0) delay(q, entry, job.delayMs);
    else makeReady(q, entry);
  }

  return {
    kind: 'in-process',
    async add(kind, jobs) {
      if (closed) throw new Error('in-process transport closed');
      for (const job of jobs) addOne(kind, job);
    },
    async readd(kind, jobs) {
      // Nothing ends "failed but present" here: a gone job is simply absent.
      for (const job of jobs) addOne(kind, job);
    },
    async present(kind, ids) {
      const q = queue(kind);
      return new Set(ids.filter((id) => q.jobs.has(id)));
    },
    consume<T>(kind: QueueKind, handler: JobHandler<T>, opts: ConsumeOptions = {}): Consumer {
      const q = queue(kind);
      const consumer: LocalConsumer = { handler: handler as JobHandler, concurrency: opts.concurrency ?? 16, running: new Map(), closing: false };
      q.consumers.add(consumer);
      pump(q);
      return {
        async close(deadlineMs = 10_000) {
          const until = systemClock.now() + deadlineMs;
          const tick = () => new Promise((r) => setTimeout(r, 10));
          // Queued events live only in this process's memory (effects and timers are in Postgres, for the sweepers):
          // the events consumer also works off the waiting ones, and retries due before the deadline, before it
          // stops taking jobs. One whose retry falls due later (a worker leaving it for a newer release, 30 s) is not
          // waited for.
          const busy = () => [...q.jobs.values()].some((e) => e.state !== 'delayed' || (e.readyAt !== undefined && e.readyAt < until));
          if (kind === 'events') while (busy() && systemClock.now() < until) await tick();
          consumer.closing = true;
          while (consumer.running.size > 0 && systemClock.now() < until) await tick();
          for (const [entry, controller] of consumer.running) {
            controller.abort(new Error('worker shutting down'));
            // Abandoned: back in the queue for another consumer (or the sweeper after a restart).
            if (q.jobs.get(entry.id) === entry) {
              entry.run++;
              makeReady(q, entry);
            }
          }
          consumer.running.clear();
          q.consumers.delete(consumer);
          pump(q);
        },
      };
    },
    waitFor(kind, id, timeoutMs) {
      const q = queue(kind);
      const done = q.finished.get(id);
      const settled = done
        ? Promise.resolve(done)
        : new Promise<Finished>((resolve, reject) => {
            if (!q.jobs.has(id)) return reject(new JobFailedError(`no job '${id}' in queue ${kind}`));
            const timer = setTimeout(() => reject(new JobWaitTimeoutError(`job '${id}' not finished after ${timeoutMs} ms`)), timeoutMs);
            const list = q.waiters.get(id) ?? [];
            list.push((f) => {
              clearTimeout(timer);
              resolve(f);
            });
            q.waiters.set(id, list);
          });
      return settled.then((f) => {
        if (!f.ok) throw new JobFailedError(f.value instanceof Error ? f.value.message : String(f.value));
        return f.value;
      });
    },
    async close() {
      closed = true;
      unsubscribe?.();
      for (const q of queues.values()) {
        for (const consumer of q.consumers) consumer.closing = true;
        for (const entry of q.jobs.values()) if (entry.timer) clearTimeout(entry.timer);
      }
    },
  };
}
