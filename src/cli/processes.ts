import type { RegisterHandlers } from '../config/define-config.ts';
import type { Tollgate } from '../runtime/create-tollgate.ts';
import { UsageError } from './args.ts';
import { appConfig } from './config-file.ts';
import { importUserModule } from './user-module.ts';
import type { ProcessesOptions, startProcesses } from '../../workers/index.ts';

export type { ProcessesOptions };

/** The processes `startProcesses` started. */
export interface RunningProcesses {
  stop(options?: { deadlineMs?: number }): Promise<void>;
}

/** `startProcesses` from workers/index.ts, loaded on demand: commands that run no workers do not load BullMQ. */
export async function loadStartProcesses(): Promise<typeof startProcesses> {
  return (await import('../../workers/index.ts')).startProcesses;
}

/**
 * Registers the app's effect handlers: from `modulePath` (--handlers; exporting `registerHandlers(tg)` or a
 * default function), else the config's `handlers` when the machines are the config's too (--machines without
 * --handlers registers none). Returns what was registered, for the start-up line.
 */
export async function registerHandlers(tg: Tollgate, modulePath?: string, machinesFlag?: string): Promise<string> {
  const loaded = await appConfig();
  const configured = modulePath === undefined && machinesFlag === undefined ? loaded?.config.handlers : undefined;
  const source = modulePath ?? configured;
  if (source === undefined) return '(none registered)';
  if (typeof source === 'function') {
    await source(tg);
    return `the handlers of ${loaded?.file}`;
  }
  const module = await importUserModule(source, modulePath === undefined ? loaded?.dir : undefined);
  const register = module.registerHandlers ?? module.default;
  if (typeof register !== 'function') throw new UsageError(`${source} exports neither registerHandlers(tg) nor a default function.`);
  await (register as RegisterHandlers)(tg);
  return source;
}

/** Effect types the config lets effect workers start without a handler (`allowMissingHandlers`). */
export async function allowedMissingHandlers(): Promise<readonly string[]> {
  return (await appConfig())?.config.allowMissingHandlers ?? [];
}

/** Redis: --redis-url, else REDIS_URL, else the config's `redis`. */
export async function redisUrlOf(flags: { readonly 'redis-url'?: string }): Promise<string | undefined> {
  return flags['redis-url'] ?? process.env.REDIS_URL ?? (await appConfig())?.config.redis;
}

/** BullMQ prefix: --queue-prefix, else TOLLGATE_QUEUE_PREFIX, else the config's `queuePrefix`, else `tollgate`. */
export async function queuePrefixOf(flags: { readonly 'queue-prefix'?: string }): Promise<string> {
  return flags['queue-prefix'] ?? process.env.TOLLGATE_QUEUE_PREFIX ?? (await appConfig())?.config.queuePrefix ?? 'tollgate';
}

export const processFlags = {
  'redis-url': { type: 'string' },
  concurrency: { type: 'string' },
  'queue-prefix': { type: 'string' },
  handlers: { type: 'string' },
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
} as const;

export const processFlagsHelp = `  --redis-url URL     Redis for the BullMQ transport (default: $REDIS_URL or the config's redis)
  --concurrency N     jobs run at once per worker kind (default 16)
  --queue-prefix P    BullMQ key prefix (default: $TOLLGATE_QUEUE_PREFIX, the config's, or tollgate)
  --handlers MODULE   module exporting registerHandlers(tg) (default: the config's handlers)
  --metrics-port N    serve GET /metrics (Prometheus text) on this port; 0 picks a free one
                      (default: $TOLLGATE_METRICS_PORT; none)
  --metrics-host H    address of that endpoint; it has no key, so the default is 127.0.0.1 (0.0.0.0 to let
                      a Prometheus on another host scrape it; default: $TOLLGATE_METRICS_HOST)`;
