import { parse } from '../args.ts';
import { databaseFlags, databaseFlagsHelp, openRuntime } from '../runtime.ts';

const usage = 'tollgate shadow-report <machine> [--since 7d] [--json]';

export const help = `${usage}

What shadow mode found (docs/adoption.md): the transitions the legacy system made that the machine would not have
made, grouped by (from, event, to), with counts and example entity ids, most frequent first. \`illegal\`: tollgate
would have refused the event (the code says why); \`diverged\`: the legacy system's \`from\` was not where tollgate's
mirror was, or the machine would have gone elsewhere. The drift enforcing would fix, before enforcing.
  --since WHEN        a duration back from now (7d, 12h, 30m, 2w) or an ISO time. Default 7d
  --json              print JSON
${databaseFlagsHelp}`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(args, { ...databaseFlags, since: { type: 'string' }, json: { type: 'boolean' } }, { min: 1, max: 1, usage });
  const { tg } = await openRuntime(flags);
  try {
    const report = await tg.shadowReport(positionals[0] as string, flags.since === undefined ? {} : { since: flags.since });
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    const v = report.verdicts;
    process.stdout.write(
      `${report.machine} (${report.mode} mode) since ${report.since}: ${v.legal} legal, ${v.illegal} illegal, ${v.diverged} diverged, ${v['unknown-entity']} unknown-entity\n`,
    );
    if (report.lines.length === 0) {
      process.stdout.write('  no illegal or diverged transitions\n');
      return 0;
    }
    const rows = report.lines.map((l) => [l.verdict, `${l.from ?? '?'} -${l.event}-> ${l.to}`, String(l.count), l.code ?? '', l.exampleIds.join(', ')]);
    const head = ['verdict', 'transition', 'count', 'code', 'examples'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    for (const row of [head, ...rows]) process.stdout.write(`  ${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ')}\n`);
    return 0;
  } finally {
    await tg.close();
  }
}
