import { backoffMs } from '../backoff.ts';

/**
 * What the relay, the timer scheduler and the workers need from a queue. Two implementations pass one
 * conformance suite (test/outbox/transport-conformance.test.ts): BullMQ (production) and in-process (embedded
 * mode, fast tests).
 *
 * Semantics both keep: a job id is unique while the job is waiting, delayed or active (adding it again is a
 * no-op); a completed effect or timer job is removed, so the same id added later runs again (the Postgres row
 * decides what that run does); delivery is at least once.
 */

/** The three queues. Effects and timers are removed on completion; events keep their outcome for `waitFor`. */
export type QueueKind = 'effects' | 'timers' | 'events';

/** A job to add. */
export interface NewJob<T = unknown> {
  /** Stable id, no `:` and not integer-like (BullMQ refuses both). */
  readonly id: string;
  readonly data: T;
  /** Run no earlier than this many (real) ms from now. Default 0. */
  readonly delayMs?: number;
  /** Run no earlier than this time of the transport's clock (timers). Default: now. */
  readonly dueAt?: number;
}

/** A job being run. */
export interface RunningJob<T = unknown> {
  readonly id: string;
  readonly data: T;
  /** 1 on first delivery; more after a crash, a stall or a thrown error. */
  readonly delivery: number;
  /** Aborted when the consumer shuts down past its deadline. */
  readonly signal: AbortSignal;
}

/** What a job handler answers: done (with a value kept for `waitFor`) or "run me again later". */
export type JobResult = { readonly value?: unknown; readonly retryInMs?: undefined } | { readonly retryInMs: number };

export type JobHandler<T = unknown> = (job: RunningJob<T>) => Promise<JobResult>;

/** Options of a consumer. */
export interface ConsumeOptions {
  /** Jobs run at once by this consumer. Default 16. */
  readonly concurrency?: number;
}

/** A running consumer. */
export interface Consumer {
  /** Stops taking jobs, waits up to `deadlineMs` (default 10,000) for running ones, then aborts and abandons them. */
  close(deadlineMs?: number): Promise<void>;
}

export interface Transport {
  readonly kind: 'bullmq' | 'in-process';
  /** Adds jobs; ids already waiting, delayed or active are left alone. */
  add(queue: QueueKind, jobs: readonly NewJob[]): Promise<void>;
  /** Adds jobs again whose earlier job is gone or ended failed (what the sweepers do). */
  readd(queue: QueueKind, jobs: readonly NewJob[]): Promise<void>;
  /** Which of `ids` have a job waiting, delayed or active. */
  present(queue: QueueKind, ids: readonly string[]): Promise<Set<string>>;
  /** Runs `handler` for the queue's jobs. Thrown errors are retried with backoff, up to 10 deliveries. */
  consume<T>(queue: QueueKind, handler: JobHandler<T>, options?: ConsumeOptions): Consumer;
  /** The value the handler returned for job `id` of `queue`; rejects if the job failed for good or on timeout. */
  waitFor(queue: QueueKind, id: string, timeoutMs: number): Promise<unknown>;
  /** Closes consumers and connections. */
  close(): Promise<void>;
}

/** Thrown by `waitFor` when the job ended failed. */
export class JobFailedError extends Error {
  override readonly name = 'JobFailedError';
}

/** Thrown by `waitFor` on timeout. */
export class JobWaitTimeoutError extends Error {
  override readonly name = 'JobWaitTimeoutError';
}

/** Deliveries of a job whose handler throws before it ends failed. */
export const maxDeliveries = 10;

/** Share of a retry's backoff that is random, so jobs that failed together do not retry together. */
export const backoffJitter = 0.5;

/**
 * Backoff after the n-th failed delivery of a throwing handler: 200 ms doubling, at most 30 s. With `random`
 * (a number in [0, 1)), the upper `backoffJitter` share of it is randomised, as BullMQ's `jitter` does.
 */
export function throwBackoffMs(delivery: number, random?: number): number {
  const shape = { baseMs: 200, maxMs: 30_000 };
  return random === undefined ? backoffMs(delivery, { ...shape, jitter: [1, 1] }) : Math.floor(backoffMs(delivery, { ...shape, jitter: [1 - backoffJitter, 1] }, random));
}
