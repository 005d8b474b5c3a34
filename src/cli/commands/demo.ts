import type { DatabaseOptions } from '../../runtime/options.ts';
import { intFlag, parse, UsageError } from '../args.ts';
import { apiClient, clientFlags } from '../client.ts';
import { httpTarget } from '../demo-target.ts';
import { loadMachines } from '../runtime.ts';

const usage = 'tollgate demo [--subscriptions 300] [--concurrency 16] [--url URL [--key KEY] | --data-dir DIR | --database-url URL]';

export const help = `${usage}

Runs the traffic simulation of tollgate's repository (its demo machines, named by the repository's
tollgate.config.ts): drives subscriptions through their lifecycle with every request delivered twice,
writers racing and the seed's three bugs attempted on purpose, then reads their history and effects back and prints
an integrity summary (double charges, charges from grace, reactivations without payment, repeated cancellation
emails). Exit 0 when every integrity check holds, 1 otherwise.
Against a running server with --url (through its HTTP API; the key needs the write scope, and admin to show
conflict retries); otherwise embedded (a fresh temporary database) unless --data-dir or DATABASE_URL.
  --subscriptions N   how many subscriptions to drive (default 300)
  --concurrency N     subscriptions driven at once (default 16)
  --no-progress       no progress bar
  --url URL           a running tollgate API (tollgate dev / serve)
  --key KEY           API key for --url (default: $TOLLGATE_API_KEY)
  --data-dir DIR      embedded PGlite directory to use (kept afterwards)
  --database-url URL  Postgres (default: $DATABASE_URL)
  --machines MODULE   the demo's machines (default: the config's)`;

export async function run(args: string[]): Promise<number> {
  const { flags } = parse(
    args,
    {
      subscriptions: { type: 'string' },
      concurrency: { type: 'string' },
      progress: { type: 'boolean' },
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
      machines: { type: 'string' },
      ...clientFlags,
    },
    { min: 0, max: 0, usage },
  );
  if (flags.url !== undefined && (flags['data-dir'] !== undefined || flags['database-url'] !== undefined)) {
    throw new UsageError('demo: --url drives a running server; it does not take --data-dir or --database-url.');
  }
  const { runDemo } = await import('../../demo/run-demo.ts');
  const url = flags['database-url'] ?? process.env.DATABASE_URL;
  const database: DatabaseOptions | undefined = url ? { url } : flags['data-dir'] ? { dataDir: flags['data-dir'] } : undefined;
  const summary = await runDemo({
    subscriptions: intFlag(flags.subscriptions, 'subscriptions', 300),
    concurrency: intFlag(flags.concurrency, 'concurrency', 16),
    ...(flags.url !== undefined
      ? { target: httpTarget(apiClient(flags), flags.url) }
      : { machines: await loadMachines(flags.machines), ...(database ? { database } : {}) }),
    ...(flags.progress === false ? { progress: false } : {}),
  });
  return summary.ok ? 0 : 1;
}
