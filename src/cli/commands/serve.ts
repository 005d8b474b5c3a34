import { buildServer } from '../../http/server.ts';
import { parse, UsageError } from '../args.ts';
import { untilSignal } from '../lifecycle.ts';
import { loadStartProcesses, queuePrefixOf, redisUrlOf, type RunningProcesses } from '../processes.ts';
import { databaseFlags, databaseFlagsHelp, describeDatabase, openRuntimeWaiting, startWaitMs, startWaitHelp } from '../runtime.ts';
import { listenOf, loadKeys, redisCheck, serverFlags, serverFlagsHelp, serverOptionsOf } from '../server-config.ts';

const usage = 'tollgate serve [--port 3000] [--host 0.0.0.0] [--keys-file FILE] [--relay] [options]';

export const help = `${usage}

The HTTP API for production: any number of these behind a load balancer, with \`tollgate worker\` beside them.
Needs API keys (--keys-file or TOLLGATE_API_KEYS) and a database (DATABASE_URL). Run \`tollgate migrate\` first.
/readyz checks Postgres, and Redis when REDIS_URL is set. SIGTERM stops taking requests and finishes the
running ones.
${startWaitHelp}
${serverFlagsHelp('0.0.0.0', 'info')}
${databaseFlagsHelp}
  --redis-url URL     Redis checked by /readyz, and the relay's with --relay (default: $REDIS_URL)
  --relay             also run the outbox relay here: effects committed by this server's requests go to BullMQ
                      straight from the commit (the lowest lag); run \`tollgate worker --no-relay\` beside it
  --queue-prefix P    BullMQ key prefix with --relay (default: $TOLLGATE_QUEUE_PREFIX or tollgate)`;

export async function run(args: string[]): Promise<number> {
  const { flags } = parse(
    args,
    { ...serverFlags, ...databaseFlags, 'redis-url': { type: 'string' }, relay: { type: 'boolean' }, 'queue-prefix': { type: 'string' } },
    { min: 0, max: 0, usage },
  );
  const redisUrl = await redisUrlOf(flags);
  if (flags.relay && !redisUrl) throw new UsageError('serve --relay needs Redis: set REDIS_URL or --redis-url.');
  const keys = await loadKeys(flags);
  if (!keys || keys.length === 0) {
    throw new UsageError('serve needs API keys: set TOLLGATE_API_KEYS or --keys-file (make entries with `tollgate keys new`). Use `tollgate dev` for a keyless local server.');
  }
  const listen = await listenOf(flags, '0.0.0.0');
  const options = serverOptionsOf(flags, 'info');
  const { tg, database } = await openRuntimeWaiting(flags, 'serve', startWaitMs());
  let relay: RunningProcesses | undefined;
  const app = await buildServer(tg, { ...options, auth: { mode: 'keys', keys }, ...(redisUrl ? { readiness: { redis: redisCheck(redisUrl) } } : {}) });
  try {
    if (flags.relay) {
      // The relay and the effect sweeper only: handlers, timers and queued events stay with `tollgate worker`.
      const startProcesses = await loadStartProcesses();
      relay = await startProcesses(tg, {
        transport: 'bullmq',
        redisUrl,
        queuePrefix: await queuePrefixOf(flags),
        relay: true,
        effectWorkers: false,
        eventWorkers: false,
        timers: false,
      });
    }
    const address = await app.listen(listen);
    process.stdout.write(`tollgate serve: listening on ${address} (${describeDatabase(database)}, ${keys.length} API key(s)${relay ? ', relay' : ''})\n`);
  } catch (error) {
    await app.close();
    await relay?.stop();
    await tg.close();
    throw error;
  }
  return untilSignal(async () => {
    await app.close();
    // After the last request: the effects those requests committed are added before the relay stops.
    await relay?.stop();
    await tg.close();
  });
}
