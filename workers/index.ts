import { z } from 'zod';
import type { Clock } from '../src/clock.ts';
import { firstIssue } from '../src/zod-issue.ts';
import { TollgateError } from '../src/errors.ts';
import { startFeed, type Feed, type FeedOptions } from '../src/feed/runner.ts';
import { settlesWithin } from '../src/jobs/deadline.ts';
import { startLoop, type Loop } from '../src/jobs/loop.ts';
import { defaultLogger, type ProcessLogger } from '../src/jobs/logger.ts';
import { startRelay, type Relay } from '../src/outbox/relay.ts';
import { sweepEffects } from '../src/outbox/sweeper.ts';
import type { Consumer, Transport } from '../src/jobs/transport.ts';
import { bullmqTransport } from '../src/jobs/transports/bullmq.ts';
import { inProcessTransport } from '../src/jobs/transports/in-process.ts';
import type { Tollgate } from '../src/runtime/create-tollgate.ts';
import { portsOf } from '../src/runtime/ports.ts';
import { startTimerWorker } from './timers.ts';
import { startTimerScheduler, sweepTimers, type TimerScheduler } from '../src/timers/scheduler.ts';
import { startEffectWorker } from './effects.ts';
import { eventEnqueuer, startEventWorker } from './events.ts';

/** Which of tollgate's background processes to run here, and over which transport. */
export interface ProcessesOptions {
  /** `bullmq` (Redis; any number of processes) or `in-process` (embedded mode, one process). */
  transport: 'bullmq' | 'in-process';
  /** Redis URL; required for `bullmq`. */
  redisUrl?: string;
  /** Run the outbox relay. Default true. */
  relay?: boolean;
  /**
   * With `relay`: commits made through `tg` in this process give their effects straight to this relay. They are
   * written dispatched and added at once: no NOTIFY, no claim round, the lowest lag (`tollgate serve --relay`,
   * `tollgate dev`). Commits from other processes still reach it by NOTIFY. Default true.
   */
  directHandOff?: boolean;
  /** Run effect workers (handlers registered with `tg.effect`). Default true. */
  effectWorkers?: boolean;
  /**
   * Effect types the effect workers may start without a handler: their effects wait (pending) until a process
   * with the handler runs them. Without it, starting effect workers while a declared effect type has no handler
   * is refused, naming the types. Default: none.
   */
  allowMissingHandlers?: readonly string[];
  /** Run the timer scheduler, the timer worker and the sweepers. Default true. */
  timers?: boolean;
  /** Run the queue-driven event worker (`tg.enqueue`). Default true. */
  eventWorkers?: boolean;
  /**
   * Run the lifecycle feed: deliver committed transitions to the consumers (`tollgate consumers add`,
   * `tg.onTransition`). Any number of processes share the consumers. Default true.
   */
  feed?: boolean;
  /** Jobs run at once per worker kind. Default 16. */
  concurrency?: number;
  /** BullMQ key prefix. Default `tollgate` (tests use one per run). */
  queuePrefix?: string;
  /** Clock for timer due times and lags. Default: the runtime's. */
  clock?: Clock;
  /** pino-compatible logger. Default: pino at TOLLGATE_LOG_LEVEL (info). */
  logger?: ProcessLogger;
  /** Intervals and limits; the defaults suit production. */
  tuning?: ProcessesTuning;
}

/** Intervals and limits of the processes. */
export interface ProcessesTuning {
  /** Relay and scheduler poll when no notification came. Default 1,000 ms. */
  pollIntervalMs?: number;
  /** How often the sweepers run. Default 10,000 ms. */
  sweepIntervalMs?: number;
  /** Sweepers leave jobs younger than this alone (database time). Default 5,000 ms. */
  sweepMinAgeMs?: number;
  /** Timers are armed this long before they are due. Default 60,000 ms (system clock), 0 (other clocks). */
  timerHorizonMs?: number;
  /** BullMQ: a crashed worker's job is re-run after about lock duration + stalled interval. Defaults 30,000 ms. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** The lifecycle feed's intervals (src/feed/runner.ts). */
  feed?: Partial<Omit<FeedOptions, 'clock' | 'logger'>>;
}

/** The running processes. */
export interface Processes {
  readonly transport: Transport;
  /** The lifecycle feed, when it runs here. */
  readonly feed: Feed | undefined;
  /** Runs both sweepers once now (what the sweep loop does every `sweepIntervalMs`); the ids re-added. */
  sweep(options?: { minAgeMs?: number }): Promise<{ effects: string[]; timers: string[] }>;
  /**
   * Stops taking work, lets running handlers finish within `deadlineMs` (default 10,000), closes the transport.
   * It returns even when Redis or the database stopped answering: after about `deadlineMs` plus 2.5 s, leaving
   * what it could not hand off to the sweepers.
   */
  stop(opts?: { deadlineMs?: number }): Promise<void>;
}

// Validated once at start-up (zod, as every option of tollgate); the rest of the fields are checked where they are used.
const processesOptionsSchema = z
  .object({ transport: z.enum(['bullmq', 'in-process']), redisUrl: z.string().min(1).optional() })
  .loose()
  .refine((o) => o.transport !== 'bullmq' || o.redisUrl !== undefined, {
    path: ['redisUrl'],
    message: "required with transport 'bullmq' (e.g. redis://127.0.0.1:6379)",
  });

/**
 * Starts tollgate's background processes for a runtime: relay, effect workers, timers (scheduler, worker,
 * sweepers) and the queue-driven event worker, and attaches the producer `tg.enqueue` uses. Register effect
 * handlers (`tg.effect`) first.
 *
 * @example
 * const tg = await createTollgate({ machines, database: { url: process.env.DATABASE_URL! } });
 * registerDemoHandlers(tg);
 * const processes = await startProcesses(tg, { transport: 'bullmq', redisUrl: process.env.REDIS_URL });
 * process.on('SIGTERM', () => processes.stop({ deadlineMs: 10_000 }));
 */
export async function startProcesses(tg: Tollgate, options: ProcessesOptions): Promise<Processes> {
  const checked = processesOptionsSchema.safeParse(options);
  if (!checked.success) {
    const { field, message } = firstIssue(checked.error, '(options)');
    throw new TollgateError('TG_INVALID_OPTIONS', `startProcesses: option '${field}' is invalid: ${message}.`, { field });
  }
  const port = portsOf(tg);
  if (options.effectWorkers !== false) {
    const handled = new Set([...port.effectHandlers.keys(), ...(options.allowMissingHandlers ?? [])]);
    const missing = tg.effectTypes().filter((type) => !handled.has(type));
    if (missing.length > 0) {
      throw new TollgateError(
        'TG_INVALID_OPTIONS',
        `startProcesses: no effect handler for ${missing.map((t) => `'${t}'`).join(', ')}: register each with tg.effect(type, handler) ` +
          `before starting effect workers, or name the types in allowMissingHandlers (their effects then wait for a process that has the handler).`,
        { field: 'allowMissingHandlers', missing },
      );
    }
  }
  const clock = options.clock ?? port.clock;
  const logger = options.logger ?? defaultLogger();
  const tuning = options.tuning ?? {};
  const concurrency = options.concurrency ?? 16;
  const metrics = port.jobMetrics();
  const transport =
    options.transport === 'bullmq'
      ? bullmqTransport({
          redisUrl: options.redisUrl as string,
          prefix: options.queuePrefix ?? 'tollgate',
          namespace: port.schema,
          clock,
          lockDurationMs: tuning.lockDurationMs,
          stalledIntervalMs: tuning.stalledIntervalMs,
        })
      : inProcessTransport({ clock });

  const consumers: Consumer[] = [];
  let relay: Relay | undefined;
  let scheduler: TimerScheduler | undefined;
  let sweeper: Loop | undefined;
  let feed: Feed | undefined;
  const sweep = async (o: { minAgeMs?: number } = {}) => {
    const minAgeMs = o.minAgeMs ?? tuning.sweepMinAgeMs;
    return {
      effects: await sweepEffects(port.outboxStore, transport, metrics, { minAgeMs }),
      timers: options.timers === false ? [] : await sweepTimers(port.timerStore, transport, metrics, { minAgeMs }),
    };
  };

  port.enqueuer.current = eventEnqueuer(transport, (machine) => port.definition(machine).version);
  try {
    if (options.effectWorkers !== false) consumers.push(startEffectWorker(port, { transport, concurrency, clock, logger }));
    if (options.eventWorkers !== false) consumers.push(startEventWorker(port, { transport, concurrency, logger }));
    if (options.timers !== false) {
      consumers.push(startTimerWorker(port, { transport, clock, concurrency, logger }));
      scheduler = startTimerScheduler(port.timerStore, { transport, clock, horizonMs: tuning.timerHorizonMs, pollIntervalMs: tuning.pollIntervalMs, logger });
    }
    if (options.feed !== false) feed = startFeed(port, { clock, logger, ...tuning.feed });
    if (options.relay !== false) relay = await startRelay(port, { transport, clock, pollIntervalMs: tuning.pollIntervalMs, logger, directHandOff: options.directHandOff ?? true });
    // The sweepers run with the relay or the timers: a process that dispatches also repairs lost dispatches.
    if (options.relay !== false || options.timers !== false) {
      sweeper = startLoop(
        async () => {
          await sweep();
          return false;
        },
        tuning.sweepIntervalMs ?? 10_000,
        (error) => logger.error({ err: error }, 'sweep failed; retrying at the next interval'),
      );
    }
  } catch (error) {
    await feed?.stop(0).catch(() => {});
    await transport.close().catch(() => {});
    throw error;
  }

  let stopped: Promise<void> | undefined;
  return {
    transport,
    feed,
    sweep,
    stop(opts = {}) {
      stopped ??= (async () => {
        port.enqueuer.current = undefined;
        const deadlineMs = opts.deadlineMs ?? 10_000;
        // The dispatchers and the consumers stop side by side, within the one deadline the caller gave. Follow-ups
        // that finishing handlers commit after the relay detached write their effects pending, for the next relay.
        // Bounded: a round waiting on a Redis or a database that stopped answering is abandoned; what it had
        // claimed stays dispatched (effects) or armed (timers) for the sweepers.
        await Promise.all([
          settlesWithin(Promise.all([relay?.stop(deadlineMs), scheduler?.stop(), sweeper?.stop()]), deadlineMs),
          feed?.stop(deadlineMs),
          ...consumers.map((c) => c.close(deadlineMs)),
        ]);
        await transport.close();
      })();
      return stopped;
    },
  };
}
