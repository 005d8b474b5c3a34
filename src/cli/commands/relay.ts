import { parse } from '../args.ts';
import { processFlags, processFlagsHelp } from '../processes.ts';
import { databaseFlags, databaseFlagsHelp, startWaitHelp } from '../runtime.ts';
import { runProcesses } from './worker.ts';

const usage = 'tollgate relay [options]';

export const help = `${usage}

The outbox relay and the timers (scheduler, timer worker, sweepers) without effect workers: hands committed
effects and due timers to BullMQ. Several may run at once (rows are claimed with SKIP LOCKED). SIGTERM stops it.
${startWaitHelp}
  --shutdown-ms N     time running jobs get to finish on SIGTERM (default 10000)
${processFlagsHelp.split('\n').filter((line) => !line.includes('--handlers')).join('\n')}
${databaseFlagsHelp}`;

export async function run(args: string[]): Promise<number> {
  const { flags } = parse(args, { ...processFlags, ...databaseFlags, 'shutdown-ms': { type: 'string' } }, { min: 0, max: 0, usage });
  return runProcesses('relay', flags, { relay: true, timers: true, effectWorkers: false, eventWorkers: false, feed: false });
}
