import { UsageError, parse } from '../args.ts';
import { actorFlag, actorFlagHelp, actorOf, listFlag } from '../actor.ts';
import { databaseFlags, databaseFlagsHelp, openRuntime } from '../runtime.ts';

const usage = 'tollgate freeze <machine> [--events A,B] [--states s1,s2] [--except C,D] --reason "..." [--until ISO-time]';

export const help = `${usage}

Freezes a machine's events for every process (applied within 1 s): a matching send is refused with TG_FROZEN
(423, retryable) and recorded; reads, dry runs and the excepted events go on. Timers and effect follow-ups that
meet the freeze wait and are applied after it. Prints the freeze id (for \`tollgate unfreeze\`).
  --events A,B        only these event types (default: every event)
  --states s1,s2      only entities in these states or inside them (default: every state)
  --except C,D        event types that go on (support-safe actions)
  --until TIME        ISO time at which the freeze ends by itself (default: until lifted)
  --reason TEXT       why (required; shown to refused callers)
${actorFlagHelp}
${databaseFlagsHelp}`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(
    args,
    { ...databaseFlags, ...actorFlag, events: { type: 'string' }, states: { type: 'string' }, except: { type: 'string' }, reason: { type: 'string' }, until: { type: 'string' } },
    { min: 1, max: 1, usage },
  );
  if (!flags.reason) throw new UsageError(`--reason "..." is required. Usage: ${usage}`);
  const { tg } = await openRuntime(flags);
  try {
    const freeze = await tg.governance.freeze({
      machine: positionals[0] as string,
      events: listFlag(flags.events),
      states: listFlag(flags.states),
      except: listFlag(flags.except),
      reason: flags.reason,
      ...(flags.until ? { until: flags.until } : {}),
      actor: actorOf(flags.actor),
    });
    process.stdout.write(`${freeze.id}\n`);
    return 0;
  } finally {
    await tg.close();
  }
}
