import type { DatabaseOptions } from '../../runtime/options.ts';
import { intFlag, parse } from '../args.ts';

const usage = 'tollgate demo [--subscriptions 300] [--concurrency 16] [--data-dir DIR | --database-url URL]';

export const help = `${usage}

Runs the traffic simulation: drives subscriptions through their lifecycle with retries, duplicates and races,
runs their effects, and prints an integrity summary (double charges, lost cancellations, ...). Exit 0 when every
integrity check holds, 1 otherwise. Embedded (a fresh temporary database) unless --data-dir or DATABASE_URL.
  --subscriptions N   how many subscriptions to drive (default 300)
  --concurrency N     subscriptions driven at once (default 16)
  --no-progress       no progress bar
  --data-dir DIR      embedded PGlite directory to use (kept afterwards)
  --database-url URL  Postgres (default: $DATABASE_URL)`;

export async function run(args: string[]): Promise<number> {
  const { flags } = parse(
    args,
    { subscriptions: { type: 'string' }, concurrency: { type: 'string' }, progress: { type: 'boolean' }, 'data-dir': { type: 'string' }, 'database-url': { type: 'string' } },
    { min: 0, max: 0, usage },
  );
  const demo = await import('../../demo/run-demo.ts');
  const url = flags['database-url'] ?? process.env.DATABASE_URL;
  const database: DatabaseOptions | undefined = url ? { url } : flags['data-dir'] ? { dataDir: flags['data-dir'] } : undefined;
  const summary = await demo.runDemo({
    subscriptions: intFlag(flags.subscriptions, 'subscriptions', 300),
    concurrency: intFlag(flags.concurrency, 'concurrency', 16),
    ...(database ? { database } : {}),
    ...(flags.progress === false ? { progress: false } : {}),
  });
  return summary.ok ? 0 : 1;
}
