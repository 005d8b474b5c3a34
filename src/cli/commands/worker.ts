import { intFlag, parse, UsageError } from '../args.ts';
import { startMetricsServer, type MetricsServer } from '../metrics-server.ts';
import { untilSignal } from '../lifecycle.ts';
import { loadStartProcesses, processFlags, processFlagsHelp, queuePrefixOf, redisUrlOf, registerHandlers, allowedMissingHandlers, type ProcessesOptions } from '../processes.ts';
import { databaseFlags, databaseFlagsHelp, describeDatabase, openRuntimeWaiting, startWaitMs, type DatabaseFlags, startWaitHelp } from '../runtime.ts';

const usage = 'tollgate worker [--concurrency 16] [--no-relay] [--no-timers] [--no-feed] [options]';

export const help = `${usage}

The background processes over BullMQ: effect workers (run the effect handlers), event workers (queued events),
and by default the outbox relay, the timers and the lifecycle feed (docs/events.md) too, so \`serve\` + \`worker\`
is a complete deployment. Run any number; they share the work through Postgres and Redis. SIGTERM stops taking
jobs and lets running handlers finish (--shutdown-ms).
${startWaitHelp}
  --no-relay          do not run the outbox relay here (run \`tollgate relay\` elsewhere)
  --no-timers         do not run the timer scheduler, timer worker and sweepers here
  --no-feed           do not deliver the lifecycle feed's consumers here (\`tollgate consumers\`)
  --shutdown-ms N     time running handlers get to finish on SIGTERM (default 10000)
${processFlagsHelp}
${databaseFlagsHelp}`;

export async function run(args: string[]): Promise<number> {
  const { flags } = parse(
    args,
    { ...processFlags, ...databaseFlags, relay: { type: 'boolean' }, timers: { type: 'boolean' }, feed: { type: 'boolean' }, 'shutdown-ms': { type: 'string' } },
    { min: 0, max: 0, usage },
  );
  return runProcesses('worker', flags, { relay: flags.relay ?? true, timers: flags.timers ?? true, effectWorkers: true, eventWorkers: true, feed: flags.feed ?? true });
}

/** Shared by `worker` and `relay`: open the runtime, start the chosen processes over BullMQ, stop on SIGTERM. */
export async function runProcesses(
  name: string,
  flags: DatabaseFlags & {
    'redis-url'?: string;
    concurrency?: string;
    'queue-prefix'?: string;
    handlers?: string;
    'shutdown-ms'?: string;
    'metrics-port'?: string;
    'metrics-host'?: string;
  },
  which: Pick<ProcessesOptions, 'relay' | 'timers' | 'effectWorkers' | 'eventWorkers'> & { readonly feed: boolean },
): Promise<number> {
  const redisUrl = await redisUrlOf(flags);
  if (!redisUrl) throw new UsageError(`${name} needs Redis: set REDIS_URL or --redis-url.`);
  const concurrency = intFlag(flags.concurrency, 'concurrency', 16, 1, 1000);
  const deadlineMs = intFlag(flags['shutdown-ms'], 'shutdown-ms', 10_000, 0);
  const metricsPortFlag = flags['metrics-port'] ?? process.env.TOLLGATE_METRICS_PORT;
  const metricsPort = metricsPortFlag === undefined || metricsPortFlag === '' ? undefined : intFlag(metricsPortFlag, 'metrics-port', 0, 0, 65_535);
  const startProcesses = await loadStartProcesses();
  const { tg, database } = await openRuntimeWaiting(flags, name, startWaitMs());
  let processes;
  let metrics: MetricsServer | undefined;
  try {
    const handlers = which.effectWorkers ? await registerHandlers(tg, flags.handlers, flags.machines) : undefined;
    processes = await startProcesses(tg, {
      transport: 'bullmq',
      redisUrl,
      concurrency,
      queuePrefix: await queuePrefixOf(flags),
      allowMissingHandlers: await allowedMissingHandlers(),
      ...which,
      ...lockTuning(),
    });
    if (metricsPort !== undefined) {
      metrics = await startMetricsServer(() => tg.metricsText(), { port: metricsPort, host: flags['metrics-host'] || process.env.TOLLGATE_METRICS_HOST || '127.0.0.1' });
      process.stdout.write(`tollgate ${name}: metrics on ${metrics.url}\n`);
    }
    const running = Object.entries(which).filter(([, on]) => on).map(([kind]) => kind).join(', ');
    process.stdout.write(`tollgate ${name}: running ${running} (${describeDatabase(database)}; Redis ${new URL(redisUrl).host})${handlers ? `; handlers: ${handlers}` : ''}\n`);
  } catch (error) {
    await processes?.stop({ deadlineMs });
    await metrics?.close();
    await tg.close();
    throw error;
  }
  const started = processes;
  return untilSignal(async () => {
    await started.stop({ deadlineMs });
    // Last: what the stop itself counted can still be scraped until now.
    await metrics?.close();
    await tg.close();
  });
}

/** TOLLGATE_LOCK_DURATION_MS: BullMQ's job lock (a stalled job is re-run after about this); the stalled check runs at half of it. */
function lockTuning(): { tuning?: { lockDurationMs: number; stalledIntervalMs: number } } {
  const given = process.env.TOLLGATE_LOCK_DURATION_MS;
  if (given === undefined || given === '') return {};
  const lockDurationMs = intFlag(given, 'TOLLGATE_LOCK_DURATION_MS', 30_000, 1000, 600_000);
  return { tuning: { lockDurationMs, stalledIntervalMs: Math.max(500, Math.floor(lockDurationMs / 2)) } };
}
