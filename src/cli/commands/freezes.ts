import { parse } from '../args.ts';
import { databaseFlags, databaseFlagsHelp, openRuntime } from '../runtime.ts';

const usage = 'tollgate freezes [--all] [--json]';

export const help = `${usage}

Lists the freezes not lifted (with --all: every freeze ever made), whether each is in force now, and why.
  --all               lifted and ended freezes too
  --json              print JSON
${databaseFlagsHelp}`;

export async function run(args: string[]): Promise<number> {
  const { flags } = parse(args, { ...databaseFlags, all: { type: 'boolean' }, json: { type: 'boolean' } }, { min: 0, max: 0, usage });
  const { tg } = await openRuntime(flags);
  try {
    const freezes = await tg.governance.freezes({ all: flags.all ?? false });
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(freezes, null, 2)}\n`);
      return 0;
    }
    if (freezes.length === 0) process.stdout.write('no freezes\n');
    for (const f of freezes) {
      const scope = [f.events ? `events ${f.events.join(',')}` : 'every event', f.states ? `in ${f.states.join(',')}` : '', f.except ? `except ${f.except.join(',')}` : '']
        .filter(Boolean)
        .join(' ');
      const status = f.liftedAt ? `lifted ${f.liftedAt} by ${f.liftedBy}` : f.active ? 'ACTIVE' : 'ended';
      process.stdout.write(`${f.id}  ${f.machine}  ${scope}  until ${f.until ?? 'lifted'}  ${status}  by ${f.createdBy}: ${f.reason}\n`);
    }
    return 0;
  } finally {
    await tg.close();
  }
}
