import { UsageError, parse } from '../args.ts';
import { actorFlag, actorFlagHelp, actorOf } from '../actor.ts';
import { databaseFlags, databaseFlagsHelp, openRuntime } from '../runtime.ts';

const usage = 'tollgate policy list [machine] [--json] | tollgate policy activate <machine> <version> --reason "..."';

export const help = `${usage}

Policies are versions registered in code (the machines module's \`policies\` export); the active version of each
machine is a row in the database. \`activate\` switches it for every process (applied within 1 s) and records
who, when, why, from and to; rolling back to a known-good version is one \`activate\`. \`list\` shows each machine's
active version, the versions registered here, and the recent switches.
  --reason TEXT       why (required for activate)
  --json              list: print JSON
${actorFlagHelp}
${databaseFlagsHelp}`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(args, { ...databaseFlags, ...actorFlag, reason: { type: 'string' }, json: { type: 'boolean' } }, { min: 1, max: 3, usage });
  const [sub, machine, version] = positionals;
  if (sub === 'activate') {
    if (!machine || !version) throw new UsageError(`activate needs <machine> <version>. Usage: ${usage}`);
    if (!flags.reason) throw new UsageError(`activate needs --reason "...". Usage: ${usage}`);
  } else if (sub !== 'list' || version !== undefined) {
    throw new UsageError(`expected 'list [machine]' or 'activate <machine> <version>'. Usage: ${usage}`);
  }
  const { tg } = await openRuntime(flags);
  try {
    if (sub === 'activate') {
      const sw = await tg.governance.activatePolicy(machine as string, version as string, { actor: actorOf(flags.actor), reason: flags.reason as string });
      process.stdout.write(`${sw.machine}: policy ${sw.from ?? '(none)'} -> ${sw.to} by ${sw.actor} at ${sw.at} (${sw.reason})\n`);
      return 0;
    }
    const items = await tg.governance.policies(machine);
    const switches = await tg.governance.policySwitches(machine, 10);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ items, switches }, null, 2)}\n`);
      return 0;
    }
    for (const p of items) {
      const registered = p.registered.length ? p.registered.join(', ') : '(none)';
      process.stdout.write(
        `${p.machine}: ${p.active ? `active ${p.active} (since ${p.activatedAt} by ${p.activatedBy}: ${p.reason})` : 'no policy'}; registered here: ${registered}\n`,
      );
    }
    if (switches.length) process.stdout.write('recent switches:\n');
    for (const s of switches) process.stdout.write(`  ${s.at}  ${s.machine}  ${s.from ?? '(none)'} -> ${s.to}  by ${s.actor}: ${s.reason}\n`);
    return 0;
  } finally {
    await tg.close();
  }
}
