import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { intFlag, parse, UsageError } from '../args.ts';
import { progressBar } from '../progress-bar.ts';
import { databaseFlags, databaseFlagsHelp, openRuntime } from '../runtime.ts';
import type { ImportReport } from '../../runtime/import-entities.ts';

const usage = 'tollgate import <machine> --from <file.ndjson | -> [--max-errors 100] [--batch 1000] [--json]';

export const help = `${usage}

Imports entities that live in another system today, each in the state it is in there. One JSON object a line:
  {"id":"sub-1","state":"grace","context":{...},"stateEnteredAt":"2026-11-28T09:00:00Z","machineVersion":1}
state: a dotted path (paused.idle), or for parallel states the value object ({"paid":{"shipment":"awaiting","invoicing":"draft"}})
or its leaf paths joined by commas. stateEnteredAt (default: now) starts the state's timers; timers already due fire
at once. machineVersion (default: the registered one) sends older records through the machine's migrations.

Each line is checked against the machine (the state exists and is a leaf, the context fits, the snapshot restores,
the state's timer delays resolve) and written with a \`$imported\` history row and its timers, in batches of one
statement each: a batch is written whole or not at all. A refused line is reported with its number and reason and
the run goes on, until more than --max-errors were refused. Idempotent: an entity already imported with the same
line is skipped, one that exists with other data is reported (TG_IMPORT_CONFLICT) and left alone. So a run that was
stopped or killed is resumed by running it again on the same file. No effects are emitted. See docs/adoption.md.

  --from FILE | -     the NDJSON file, or - for standard input
  --max-errors N      stop after more than N refused lines (default 100)
  --batch N           entities per statement (default 1000)
  --json              print the report as JSON
${databaseFlagsHelp}

Exit codes: 0 every line imported or already there, 1 some lines refused, 2 usage.`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(
    args,
    { ...databaseFlags, from: { type: 'string' }, 'max-errors': { type: 'string' }, batch: { type: 'string' }, json: { type: 'boolean' } },
    { min: 1, max: 1, usage },
  );
  const [machine] = positionals as [string];
  const from = flags.from;
  if (from === undefined || from === '') throw new UsageError(`--from is required (a file, or - for standard input). Usage: ${usage}`);
  const maxErrors = intFlag(flags['max-errors'], 'max-errors', 100, 0);
  const batch = intFlag(flags.batch, 'batch', 1000, 1, 100_000);
  const total = from === '-' ? 0 : await countLines(from);
  const { tg } = await openRuntime(flags);
  const bar = progressBar(flags.json === true);
  try {
    const input = from === '-' ? process.stdin : createReadStream(from, { encoding: 'utf8' });
    const lines = createInterface({ input, crlfDelay: Infinity });
    const report = await tg.import(machine, lines, { batch, maxErrors, total, onProgress: bar.update });
    bar.done();
    process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatImportReport(report));
    return report.failed > 0 ? 1 : 0;
  } finally {
    await tg.close();
  }
}

/** The report as text: counts, states, timers, and the first refused lines. */
export function formatImportReport(report: ImportReport): string {
  const lines = [
    `${report.machine}: imported ${report.imported} of ${report.lines} lines` +
      `${report.skipped ? `, ${report.skipped} already imported (skipped)` : ''}` +
      `${report.failed ? `, ${report.failed} refused` : ''}${report.stopped ? ' (stopped: --max-errors; the rest of the input was not read)' : ''}`,
  ];
  const states = Object.entries(report.states).sort(([a], [b]) => a.localeCompare(b));
  if (states.length) {
    const width = Math.max(5, ...states.map(([s]) => s.length));
    lines.push(`  ${'state'.padEnd(width)}  entities`);
    for (const [state, n] of states) lines.push(`  ${state.padEnd(width)}  ${n}`);
  }
  lines.push(`  timers: ${report.timers.armed} armed, ${report.timers.dueAtImport} of them due already (they fire at once)`);
  for (const e of report.errors.slice(0, 20)) lines.push(`  line ${e.line}${e.id === undefined ? '' : ` (${e.id})`}: ${e.code} ${e.message}`);
  if (report.failed > 20) lines.push(`  ... and ${report.failed - 20} more (--json lists up to --max-errors + 1)`);
  return `${lines.join('\n')}\n`;
}

/** Lines in a file (for the progress bar), counted without parsing. */
async function countLines(file: string): Promise<number> {
  let n = 0;
  let last = 10;
  try {
    for await (const chunk of createReadStream(file)) {
      const bytes = chunk as Buffer;
      for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) n++;
      if (bytes.length > 0) last = bytes[bytes.length - 1]!;
    }
  } catch (error) {
    throw new UsageError(`cannot read --from ${file}: ${(error as Error).message}`);
  }
  return last === 10 ? n : n + 1;
}
