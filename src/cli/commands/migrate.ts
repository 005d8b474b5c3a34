import { parse } from '../args.ts';
import { databaseFlags, databaseFlagsHelp, describeDatabase, openRuntime } from '../runtime.ts';

const usage = 'tollgate migrate [--database-url URL | --data-dir DIR] [--schema NAME]';

export const help = `${usage}

Applies pending database migrations (idempotent; safe from several processes at once).
${databaseFlagsHelp}`;

export async function run(args: string[]): Promise<number> {
  const { flags } = parse(args, databaseFlags, { min: 0, max: 0, usage });
  const { tg, database } = await openRuntime(flags);
  try {
    const applied = await tg.migrate();
    process.stdout.write(
      applied.length ? `applied ${applied.length} migration(s) to ${describeDatabase(database)}: ${applied.join(', ')}\n` : `${describeDatabase(database)} is up to date\n`,
    );
    return 0;
  } finally {
    await tg.close();
  }
}
