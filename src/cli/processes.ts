import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Tollgate } from '../runtime/create-tollgate.ts';
import { UsageError } from './args.ts';
import type { ProcessesOptions, startProcesses } from '../../workers/index.ts';


export type { ProcessesOptions };

/** The processes `startProcesses` started. */
export interface RunningProcesses {
  stop(options?: { deadlineMs?: number }): Promise<void>;
}

type RegisterHandlers = (tg: Tollgate) => void | Promise<void>;

/** `startProcesses` from workers/index.ts, loaded on demand: commands that run no workers do not load BullMQ. */
export async function loadStartProcesses(): Promise<typeof startProcesses> {
  return (await import('../../workers/index.ts')).startProcesses;
}

/**
 * Registers effect handlers from `modulePath` (exporting `registerHandlers(tg)` or a default function), or by
 * default the demo handlers of machines/demo-handlers.ts. Returns what was registered, for the start-up line.
 */
export async function registerHandlers(tg: Tollgate, modulePath?: string): Promise<string> {
  if (modulePath) {
    const url = pathToFileURL(isAbsolute(modulePath) ? modulePath : resolve(modulePath)).href;
    const loaded = (await import(url)) as { registerHandlers?: RegisterHandlers; default?: RegisterHandlers };
    const register = loaded.registerHandlers ?? loaded.default;
    if (typeof register !== 'function') throw new UsageError(`${modulePath} exports neither registerHandlers(tg) nor a default function.`);
    await register(tg);
    return modulePath;
  }
  const demo = await import('../../machines/demo-handlers.ts');
  demo.registerDemoHandlers(tg, { failureRate: Number(process.env.TOLLGATE_DEMO_FAILURE_RATE ?? 0) });
  return 'machines/demo-handlers.ts (demo provider and email sink)';
}

export const processFlags = {
  'redis-url': { type: 'string' },
  concurrency: { type: 'string' },
  'queue-prefix': { type: 'string' },
  handlers: { type: 'string' },
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
} as const;

export const processFlagsHelp = `  --redis-url URL     Redis for the BullMQ transport (default: $REDIS_URL)
  --concurrency N     jobs run at once per worker kind (default 16)
  --queue-prefix P    BullMQ key prefix (default: $TOLLGATE_QUEUE_PREFIX or tollgate)
  --handlers MODULE   module exporting registerHandlers(tg) (default: machines/demo-handlers.ts)
  --metrics-port N    serve GET /metrics (Prometheus text) on this port; 0 picks a free one
                      (default: $TOLLGATE_METRICS_PORT; none)
  --metrics-host H    address of that endpoint; it has no key, so the default is 127.0.0.1 (0.0.0.0 to let
                      a Prometheus on another host scrape it; default: $TOLLGATE_METRICS_HOST)`;
