import { z } from 'zod';
import { TollgateError } from '../errors.ts';
import { firstIssue } from '../zod-issue.ts';
import type { EntityView } from '../runtime/views.ts';

/** What an effect handler receives. */
export interface EffectContext<P = Record<string, unknown>> {
  /**
   * The effect's stable id (`<transition id>-e<index>`). Pass it to the outside provider as its idempotency key:
   * a retried or re-delivered run then cannot charge or send twice.
   */
  readonly effectId: string;
  readonly type: string;
  readonly params: P;
  readonly machine: string;
  readonly entityId: string;
  readonly transitionId: string;
  /** 1 for the first run, then 2, 3, ... (runs that recorded a retryable failure). */
  readonly attempt: number;
  /**
   * Aborted when the worker shuts down past its deadline: stop and throw. Whatever a handler throws once this is
   * aborted counts as abandoned, not as a failure: no attempt is used, nothing is compensated, and the effect runs
   * again (with the same effect id for the provider).
   */
  readonly signal: AbortSignal;
  /** The entity now (read on demand: one query). */
  entity(): Promise<EntityView>;
}

/** What a handler may return. */
export interface EffectOutcome {
  /** Stored in the effect row (JSON). Default: null. */
  readonly result?: unknown;
  /**
   * A follow-up event for the effect's entity (e.g. `{ type: 'PAYMENT_SUCCEEDED', chargeId }`), sent through the
   * gate with the effect id as idempotency key, so it is applied at most once whatever is retried.
   */
  readonly event?: { readonly type: string } & Readonly<Record<string, unknown>>;
}

/**
 * Runs one effect type. Throw RetryableError / TerminalError (or anything: retryable) to fail the attempt.
 * (Written as a method so that a runtime typed by its machines still passes where a `Tollgate` of any machines is
 * expected: parameters of methods compare both ways.)
 */
export type EffectHandler<P = Record<string, unknown>> = {
  handle(ctx: EffectContext<P>): Promise<EffectOutcome | void> | EffectOutcome | void;
}['handle'];

/** Retry rules of one effect type. */
export interface EffectHandlerOptions {
  /** Runs at most this many times before the effect is marked failed (and compensated). 1 to 100. Default 5. */
  readonly attempts?: number;
  /** Delay before the second run; doubles each run (with jitter). Default 1,000 ms. */
  readonly backoffMs?: number;
  /** Upper bound of the backoff. Default 60,000 ms. */
  readonly maxBackoffMs?: number;
}

export interface RegisteredHandler {
  readonly handler: EffectHandler;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

/** Adds a queue-driven event; implemented by the event producer workers/events.ts attaches. */
export type EventEnqueuer = (machine: string, id: string, event: unknown, options: EnqueueOptions) => Promise<EnqueuedEvent>;

/** Options of `tg.enqueue`. */
export interface EnqueueOptions {
  /** Applies the event at most once per entity; also the job's identity. Default: a fresh random key. */
  readonly idempotencyKey?: string;
  /** Who sent the event, stored in the history. Default: none. */
  readonly actor?: string;
}

/** How a queue-driven event ended. Coded rejections are outcomes, not exceptions: they are final. */
export type EventOutcome =
  | { readonly status: 'accepted'; readonly transitionId: string; readonly state: string; readonly replayed: boolean }
  | { readonly status: 'rejected'; readonly code: string; readonly message: string };

/** A queued event. */
export interface EnqueuedEvent {
  /** The job id (derived from machine, entity and idempotency key). */
  readonly jobId: string;
  readonly idempotencyKey: string;
  /** Waits for the ingestion worker's outcome. Rejects if the job failed for good or the wait timed out. */
  outcome(options?: { timeoutMs?: number }): Promise<EventOutcome>;
}

/** The effect handlers of one runtime (`tg.effect`), by effect type: filled by `tg.effect`, read by the effect workers. */
export type EffectHandlers = Map<string, RegisteredHandler>;

const handlerOptionsSchema = z
  .object({
    attempts: z.number().int().min(1).max(100).default(5),
    backoffMs: z.number().min(0).default(1000),
    maxBackoffMs: z.number().default(60_000),
  })
  .refine((o) => o.maxBackoffMs >= o.backoffMs, { path: ['maxBackoffMs'], message: 'must be at least backoffMs' });

/** Registers the handler of an effect type in `handlers`; a second registration of a type is refused. */
export function registerEffect(handlers: EffectHandlers, type: string, handler: EffectHandler, options: EffectHandlerOptions = {}): void {
  if (typeof type !== 'string' || type.length === 0) {
    throw new TollgateError('TG_INVALID_ARGUMENT', `tg.effect: the effect type must be a non-empty string, got ${String(type)}.`);
  }
  if (typeof handler !== 'function') {
    throw new TollgateError('TG_INVALID_ARGUMENT', `tg.effect('${type}'): the handler must be a function.`);
  }
  const parsed = handlerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error, '(options)');
    throw new TollgateError('TG_INVALID_OPTIONS', `tg.effect('${type}'): option '${field}' is invalid: ${message}.`, { field });
  }
  if (handlers.has(type)) {
    throw new TollgateError('TG_INVALID_ARGUMENT', `tg.effect('${type}'): a handler of '${type}' is already registered; register each effect type once.`, { effectType: type });
  }
  handlers.set(type, { handler, ...parsed.data });
}

/** `tg.enqueue`: hands the event to the producer startProcesses attached, or says how to attach one. */
export function enqueueEvent(enqueuer: EventEnqueuer | undefined, machine: string, id: string, event: unknown, options: EnqueueOptions = {}): Promise<EnqueuedEvent> {
  if (!enqueuer) {
    return Promise.reject(
      new TollgateError(
        'TG_NO_TRANSPORT',
        `tg.enqueue('${machine}', '${id}') needs a queue: call startProcesses(tg, { transport: ... }) from workers/index.ts first ` +
          `(with eventWorkers: false in a process that only produces events).`,
        { machine, entityId: id },
      ),
    );
  }
  return enqueuer(machine, id, event, options);
}
