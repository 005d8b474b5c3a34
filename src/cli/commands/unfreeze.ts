import { UsageError, parse } from '../args.ts';
import { actorFlag, actorFlagHelp, actorOf } from '../actor.ts';
import { databaseFlags, databaseFlagsHelp, openRuntime } from '../runtime.ts';

const usage = 'tollgate unfreeze <freeze-id> --reason "..."';

export const help = `${usage}

Lifts a freeze for every process (within 1 s); held timers and effect follow-ups are applied after it.
  --reason TEXT       why (required)
${actorFlagHelp}
${databaseFlagsHelp}`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(args, { ...databaseFlags, ...actorFlag, reason: { type: 'string' } }, { min: 1, max: 1, usage });
  if (!flags.reason) throw new UsageError(`--reason "..." is required. Usage: ${usage}`);
  const { tg } = await openRuntime(flags);
  try {
    const freeze = await tg.governance.unfreeze(positionals[0] as string, { actor: actorOf(flags.actor), reason: flags.reason });
    process.stdout.write(`${freeze.id} lifted at ${freeze.liftedAt} by ${freeze.liftedBy}\n`);
    return 0;
  } finally {
    await tg.close();
  }
}
