import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse, UsageError } from '../args.ts';
import { analyzeLog, type LoggedTransition } from '../../discover/analyze-log.ts';
import { discoveryReport, draftModule } from '../../discover/draft-machine.ts';

const usage = 'tollgate discover --from <transitions.ndjson | -> --name <machine> --out <dir>';

export const help = `${usage}

Reads a legacy system's transition log, one JSON object a line: {"entityId":"s1","from":"trial","to":"active",
"event":"UPGRADE","at":"2026-11-01T10:00:00Z"} (from null or absent for a creation; event optional, then TO_<STATE>),
and writes:
  <dir>/<machine>.ts         a draft machine module (exports \`machines\`: register it with --machines, run
                             tollgate test-paths on it), the observed states and transitions, frequencies in comments
  <dir>/<machine>.report.md  states, transitions with counts, dwell time per state (p50/p99), rare paths (under 0.1%:
                             likely bugs), entities whose path breaks the majority's, and a Mermaid diagram
Nothing is read from or written to a database.`;

export async function run(args: string[]): Promise<number> {
  const { flags } = parse(args, { from: { type: 'string' }, name: { type: 'string' }, out: { type: 'string' } }, { min: 0, max: 0, usage });
  if (!flags.from || !flags.name || !flags.out) throw new UsageError(`--from, --name and --out are required. Usage: ${usage}`);
  const rows: LoggedTransition[] = [];
  let line = 0;
  const input = flags.from === '-' ? process.stdin : createReadStream(flags.from, { encoding: 'utf8' });
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    let row: LoggedTransition;
    try {
      row = JSON.parse(text) as LoggedTransition;
    } catch (error) {
      throw new UsageError(`line ${line} of ${flags.from} is not JSON (${(error as Error).message}).`);
    }
    if (typeof row.entityId !== 'string' || typeof row.to !== 'string' || (typeof row.at !== 'string' && typeof row.at !== 'number')) {
      throw new UsageError(`line ${line} of ${flags.from} needs entityId, to and at (from and event are optional).`);
    }
    rows.push(row);
  }
  const found = analyzeLog(rows);
  let source: string;
  try {
    source = draftModule(flags.name, found);
  } catch (error) {
    throw new UsageError(`--name: ${(error as Error).message}.`);
  }
  await mkdir(flags.out, { recursive: true });
  await writeFile(join(flags.out, `${flags.name}.ts`), source);
  await writeFile(join(flags.out, `${flags.name}.report.md`), discoveryReport(flags.name, found));
  process.stdout.write(
    `${flags.name}: ${found.states.length} states, ${found.transitions.length} transitions from ${found.rows} rows of ${found.entities} entities; ` +
      `${found.rare.length} rare, ${found.outliers.length} entities off the majority's path\n` +
      `wrote ${join(flags.out, `${flags.name}.ts`)} and ${join(flags.out, `${flags.name}.report.md`)}\n`,
  );
  return 0;
}
