import { UsageError, jsonArg, parse } from '../args.ts';
import { databaseFlags, databaseFlagsHelp, openRuntime } from '../runtime.ts';

const usage = 'tollgate override <machine> <id> <state> --reason "..." [--illegal] [--context JSON]';

export const help = `${usage}

Repairs one entity outside the gate, audited: moves it to <state> (as stored: 'paused.idle'; parallel leaves
joined by ','), with a snapshot of the machine resolved in that state, and cancels its scheduled timers. The
database allows it only to a state one event reaches from the current one (TG_OVERRIDE_REFUSED otherwise) unless
--illegal; it records an \`overrides\` row (database user, reason, before, after) and a \`$override\` history row.
Entry actions and the new state's timers do not run. Same as, in psql:
  BEGIN; SET LOCAL tollgate.override = '<reason>'; UPDATE tollgate.entities SET ...; COMMIT;
  --reason TEXT       why (required)
  --illegal           allow a state no single event reaches (sets tollgate.override_illegal)
  --context JSON      context members to set, merged over the current context
${databaseFlagsHelp}`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(
    args,
    { ...databaseFlags, reason: { type: 'string' }, illegal: { type: 'boolean' }, context: { type: 'string' } },
    { min: 3, max: 3, usage },
  );
  if (!flags.reason) throw new UsageError(`--reason "..." is required. Usage: ${usage}`);
  const context = flags.context === undefined ? undefined : jsonArg(flags.context, '--context');
  if (context !== undefined && (typeof context !== 'object' || context === null || Array.isArray(context))) {
    throw new UsageError('--context must be a JSON object.');
  }
  const [machine, id, state] = positionals as [string, string, string];
  const { tg } = await openRuntime(flags);
  try {
    const done = await tg.governance.override({
      machine,
      id,
      state,
      reason: flags.reason,
      illegal: flags.illegal ?? false,
      ...(context ? { context: context as Record<string, unknown> } : {}),
    });
    process.stdout.write(`${machine}/${id}: ${done.from} -> ${done.to} (override, version ${done.version}; ${done.cancelledTimers} timer(s) cancelled)\n`);
    return 0;
  } finally {
    await tg.close();
  }
}
