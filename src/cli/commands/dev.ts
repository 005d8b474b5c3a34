import type { FastifyInstance } from 'fastify';
import { isLoopback } from '../../http/auth.ts';
import { buildServer } from '../../http/server.ts';
import type { Tollgate } from '../../runtime/create-tollgate.ts';
import { parse, UsageError } from '../args.ts';
import { untilSignal } from '../lifecycle.ts';
import { allowedMissingHandlers, loadStartProcesses, queuePrefixOf, redisUrlOf, registerHandlers, type RunningProcesses } from '../processes.ts';
import { databaseFlags, databaseFlagsHelp, describeDatabase, openRuntime } from '../runtime.ts';
import { listenOf, loadKeys, redisCheck, serverFlags, serverFlagsHelp, serverOptionsOf } from '../server-config.ts';

const usage = 'tollgate dev [--port 3000] [--data-dir ./.tollgate]';

export const help = `${usage}

The whole service in one process with zero set-up: an embedded PGlite database in --data-dir (migrated on
start), the HTTP API, and the relay, effect workers and timers on the in-process transport, with the app's
machines and effect handlers (tollgate.config.ts). With DATABASE_URL it uses Postgres instead, with REDIS_URL BullMQ. Without API keys it serves
loopback clients only, and says so. Ctrl-C (or SIGTERM) stops it.
${serverFlagsHelp('127.0.0.1', 'warn')}
${databaseFlagsHelp.replace('embedded PGlite directory, when no Postgres URL is given', 'embedded PGlite directory (default ./.tollgate)')}
  --redis-url URL     use BullMQ on this Redis instead of the in-process transport (default: $REDIS_URL)
  --handlers MODULE   module exporting registerHandlers(tg) (default: the config's handlers)`;

export async function run(args: string[]): Promise<number> {
  const { flags } = parse(args, { ...serverFlags, ...databaseFlags, 'redis-url': { type: 'string' }, handlers: { type: 'string' } }, { min: 0, max: 0, usage });
  const listen = await listenOf(flags, '127.0.0.1');
  const keys = await loadKeys(flags);
  if (!keys && !isLoopbackHost(listen.host)) {
    throw new UsageError(`dev without API keys binds to loopback only; --host ${listen.host} needs TOLLGATE_API_KEYS or --keys-file.`);
  }
  const options = serverOptionsOf(flags, 'warn');
  const redisUrl = await redisUrlOf(flags);
  const { tg, database } = await openRuntime(flags, './.tollgate');
  let processes: RunningProcesses | undefined;
  let app: FastifyInstance | undefined;
  const stop = async () => {
    await app?.close();
    await processes?.stop({ deadlineMs: 5000 });
    await tg.close();
  };
  const notes: string[] = [];
  try {
    await tg.migrate();
    processes = await startBackground(tg, redisUrl, flags, notes);
    app = await buildServer(tg, {
      ...options,
      auth: keys ? { mode: 'keys', keys } : { mode: 'open' },
      ...(redisUrl ? { readiness: { redis: redisCheck(redisUrl) } } : {}),
    });
    await app.listen(listen).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'EADDRINUSE' ? new UsageError(`port ${listen.port} is in use; pass --port.`) : error;
    });
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  const port = (app.server.address() as { port: number }).port;
  process.stdout.write(
    [
      `tollgate dev: http://${host}:${port}`,
      `  database: ${describeDatabase(database)}`,
      ...notes,
      keys ? `  auth: ${keys.length} API key(s)` : '  auth: OPEN (no API keys configured): answering loopback clients only',
      `  try: curl http://${host}:${port}/v1/machines`,
      '',
    ].join('\n'),
  );
  return untilSignal(stop);
}

async function startBackground(tg: Tollgate, redisUrl: string | undefined, flags: { handlers?: string; machines?: string }, notes: string[]): Promise<RunningProcesses> {
  const startProcesses = await loadStartProcesses();
  const handlers = await registerHandlers(tg, flags.handlers, flags.machines);
  const allowMissingHandlers = await allowedMissingHandlers();
  const processes = await startProcesses(
    tg,
    redisUrl ? { transport: 'bullmq', redisUrl, queuePrefix: await queuePrefixOf({}), allowMissingHandlers } : { transport: 'in-process', allowMissingHandlers },
  );
  notes.push(`  background: relay, effect workers, timers, lifecycle feed on ${redisUrl ? `BullMQ (${new URL(redisUrl).host})` : 'the in-process transport'}`);
  notes.push(`  effect handlers: ${handlers}`);
  return processes;
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopback(host);
}
