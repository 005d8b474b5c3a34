import { UsageError, parse } from '../args.ts';
import { actorFlag, actorFlagHelp, actorOf } from '../actor.ts';
import { databaseFlags, databaseFlagsHelp, openRuntime } from '../runtime.ts';

const usage = 'tollgate mode [machine] [--json] | tollgate mode <machine> <shadow|enforce> --reason "..."';

export const help = `${usage}

A machine runs in \`enforce\` mode (the gate decides every transition) or in \`shadow\` mode (a legacy system still
writes its entities: sends and creates are refused with TG_MACHINE_SHADOWED, and the legacy system's transitions are
reported with tg.observe or POST /v1/entities/{machine}/{id}/observations, judged and mirrored; docs/adoption.md).
The definition's \`mode\` applies until a switch is recorded. A switch applies to every process within 1 s and is
recorded with who, when, why, from and to. Without a mode: each machine's mode and the recent switches.
  --reason TEXT       why (required to switch)
  --json              list: print JSON
${actorFlagHelp}
${databaseFlagsHelp}`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(args, { ...databaseFlags, ...actorFlag, reason: { type: 'string' }, json: { type: 'boolean' } }, { min: 0, max: 2, usage });
  const [machine, mode] = positionals;
  if (mode !== undefined) {
    if (mode !== 'shadow' && mode !== 'enforce') throw new UsageError(`the mode is 'shadow' or 'enforce', not '${mode}'. Usage: ${usage}`);
    if (!flags.reason) throw new UsageError(`switching needs --reason "...". Usage: ${usage}`);
  }
  const { tg } = await openRuntime(flags);
  try {
    if (machine !== undefined && mode !== undefined) {
      const sw = await tg.governance.setMode(machine, mode, { actor: actorOf(flags.actor), reason: flags.reason as string });
      process.stdout.write(`${sw.machine}: mode ${sw.from} -> ${sw.to} by ${sw.actor} at ${sw.at} (${sw.reason})\n`);
      return 0;
    }
    const items = await tg.governance.modes(machine);
    const switches = await tg.governance.modeSwitches(machine, 10);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ items, switches }, null, 2)}\n`);
      return 0;
    }
    for (const m of items) process.stdout.write(`${m.machine}: ${m.mode}${m.source === 'definition' ? ' (its definition; never switched)' : ''}\n`);
    if (switches.length) process.stdout.write('recent switches:\n');
    for (const s of switches) process.stdout.write(`  ${s.at}  ${s.machine}  ${s.from} -> ${s.to}  by ${s.actor}: ${s.reason}\n`);
    return 0;
  } finally {
    await tg.close();
  }
}
