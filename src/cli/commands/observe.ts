import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { isTollgateError } from '../../errors.ts';
import type { Verdict } from '../../store/shadow-store.ts';
import { parse, UsageError } from '../args.ts';
import { databaseFlags, databaseFlagsHelp, openRuntime } from '../runtime.ts';

const usage = 'tollgate observe <machine> --from <transitions.ndjson | -> [--json]';

export const help = `${usage}

Shadow mode (docs/adoption.md): reports a legacy system's transitions to tollgate, one JSON object a line, the rows
\`tollgate discover\` reads: {"entityId":"s1","from":"trial","to":"active","event":"UPGRADE","at":"2026-11-01T10:00:00Z"}
(optional: "payload", "context", and "key", an observation key that makes a line safe to report again; without one
each line's key is <entityId>:<at>:<event>). Each is judged against the machine and tollgate's mirror (legal,
illegal, diverged, unknown-entity), recorded, and mirrored, in the order given. The machine must be in shadow mode.
A malformed line is reported with its number and skipped. Prints the count per verdict (exit 1 when a line was refused).
Then: tollgate shadow-report <machine>.
  --json              print the counts and refused lines as JSON
${databaseFlagsHelp}`;

interface Line {
  readonly entityId?: unknown;
  readonly event?: unknown;
  readonly key?: unknown;
  readonly [field: string]: unknown;
}

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(args, { ...databaseFlags, from: { type: 'string' }, json: { type: 'boolean' } }, { min: 1, max: 1, usage });
  if (!flags.from) throw new UsageError(`--from is required (a file, or - for standard input). Usage: ${usage}`);
  const machine = positionals[0] as string;
  const { tg } = await openRuntime(flags);
  const verdicts: Record<Verdict, number> = { legal: 0, illegal: 0, diverged: 0, 'unknown-entity': 0 };
  const refused: Array<{ line: number; code: string; message: string }> = [];
  try {
    const input = flags.from === '-' ? process.stdin : createReadStream(flags.from, { encoding: 'utf8' });
    let number = 0;
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      number++;
      if (text.trim() === '') continue;
      try {
        let row: Line;
        try {
          row = JSON.parse(text) as Line;
        } catch (error) {
          throw new UsageError(`not JSON (${(error as Error).message})`);
        }
        const { entityId, event, key, ...rest } = row;
        if (typeof entityId !== 'string') throw new UsageError('no string entityId');
        const eventType = typeof event === 'string' ? event : `TO_${String(rest.to).toUpperCase()}`;
        const observation = { ...rest, event: eventType, key: typeof key === 'string' ? key : `${entityId}:${String(rest.at)}:${eventType}` };
        const seen = await tg.observe(machine, entityId, observation as Parameters<typeof tg.observe>[2]);
        verdicts[seen.verdict]++;
      } catch (error) {
        // A machine that is not in shadow mode, or not registered, stops the run: every line would be refused.
        if (isTollgateError(error) && (error.code === 'TG_MACHINE_ENFORCED' || error.code === 'TG_UNKNOWN_MACHINE')) throw error;
        if (!(error instanceof UsageError) && !isTollgateError(error)) throw error;
        refused.push({ line: number, code: isTollgateError(error) ? error.code : 'TG_INVALID_OBSERVATION', message: error.message });
      }
    }
  } finally {
    await tg.close();
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ machine, verdicts, refused }, null, 2)}\n`);
  } else {
    process.stdout.write(`${machine}: ${verdicts.legal} legal, ${verdicts.illegal} illegal, ${verdicts.diverged} diverged, ${verdicts['unknown-entity']} unknown-entity; ${refused.length} lines refused\n`);
    for (const r of refused) process.stdout.write(`  line ${r.line}: ${r.code} ${r.message}\n`);
  }
  return refused.length > 0 ? 1 : 0;
}
