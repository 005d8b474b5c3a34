import { intFlag, parse, UsageError } from '../args.ts';
import { databaseFlags, databaseFlagsHelp, openRuntime } from '../runtime.ts';
import { progressBar } from '../progress-bar.ts';
import type { BulkMigrationReport } from '../../runtime/migrate-entities.ts';
import { portsOf } from '../../runtime/ports.ts';

const usage = 'tollgate entities migrate <machine> [--to N] [--batch 500] [--dry-run] [--max-failures 10] [--json]';

export const help = `${usage}

Migrates every entity of <machine> stored by an older machine version to the version the machines module
registers, online, while traffic flows: one commit per entity with its \`$migrated\` history row, under the
optimistic lock (conflicts retried). Safe to stop at any point and run again: it picks up the entities still older.
Timers are re-derived from the new version's \`after\` (kept, re-armed, cancelled, armed) and counted.
A migration that throws or returns an invalid snapshot leaves its entity untouched, is recorded
(TG_MIGRATION_FAILED) and reported; the run stops once more than --max-failures failed.

  --to N              the version to migrate to: must be the one the machines module registers (default: it)
  --batch N           entities read per page (default 500)
  --dry-run           plan and count every migration, write nothing
  --max-failures N    stop after more than N failures (default 10)
  --json              print the report as JSON
${databaseFlagsHelp}

Exit codes: 0 every older entity migrated (or would be), 1 some failed, 2 usage.`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(
    args,
    { ...databaseFlags, to: { type: 'string' }, batch: { type: 'string' }, 'dry-run': { type: 'boolean' }, 'max-failures': { type: 'string' }, json: { type: 'boolean' } },
    { min: 2, max: 2, usage },
  );
  const [subcommand, machine] = positionals as [string, string];
  if (subcommand !== 'migrate') throw new UsageError(`unknown subcommand '${subcommand}'. Usage: ${usage}`);
  const to = flags.to === undefined ? undefined : intFlag(flags.to, 'to', 1);
  const batch = intFlag(flags.batch, 'batch', 500, 1, 100_000);
  const maxFailures = intFlag(flags['max-failures'], 'max-failures', 10, 0);
  const { tg } = await openRuntime(flags);
  const bar = progressBar(flags.json === true);
  try {
    const report = await portsOf(tg).migrateEntities(machine, {
      ...(to === undefined ? {} : { to }),
      batch,
      maxFailures,
      dryRun: flags['dry-run'] === true,
      onProgress: bar.update,
    });
    bar.done();
    process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.failed > 0 ? 1 : 0;
  } finally {
    await tg.close();
  }
}

/** The report as a table. */
export function formatReport(report: BulkMigrationReport): string {
  const verb = report.dryRun ? 'would migrate' : 'migrated';
  const lines = [
    `${report.machine}: ${verb} ${report.migrated} of ${report.total} older entities to version ${report.toVersion}` +
      `${report.alreadyMigrated ? ` (${report.alreadyMigrated} migrated meanwhile by their own events)` : ''}` +
      `${report.failed ? `, ${report.failed} failed` : ''}${report.stopped ? ' (stopped: --max-failures)' : ''}` +
      `${report.conflictRetries ? `, ${report.conflictRetries} conflict retries` : ''}`,
  ];
  if (report.counts.length) {
    lines.push('  from version  from state                to state                  entities');
    for (const c of report.counts) lines.push(`  ${String(c.fromVersion).padEnd(12)}  ${c.fromState.padEnd(24)}  ${c.toState.padEnd(24)}  ${c.n}`);
  }
  lines.push(`  timers: ${Object.entries(report.timers).map(([action, n]) => `${n} ${action}`).join(', ')}`);
  for (const f of report.failures.slice(0, 20)) lines.push(`  failed ${f.id} (version ${f.fromVersion}, ${f.state}): ${f.code} ${f.message}`);
  if (report.failures.length > 20) lines.push(`  ... and ${report.failures.length - 20} more`);
  return `${lines.join('\n')}\n`;
}
