import { systemClock } from '../../clock.ts';
import { replayFindingKinds, replayHistory, type ReplayFindingKind, type ReplayRunReport } from '../../replay/replay-run.ts';
import { intFlag, parse, UsageError } from '../args.ts';
import { progressBar } from '../progress-bar.ts';
import { databaseFlags, databaseFlagsHelp, openRuntime } from '../runtime.ts';
import { portsOf } from '../../runtime/ports.ts';
import { parseSince } from '../../since.ts';

const usage = 'tollgate replay --machines <new module> [--since 7d] [--machine M] [--sample N] [--allow KIND]... [--json]';

export const help = `${usage}

Replays each recorded entity's real history (its create input, then every event in order, refused attempts
included, timers as they fired) through the release's machines, writing nothing, and reports where business
outcomes would change, counted per (machine, state, event, kind of change) with example entity ids:

  accepted-now-refused   an event accepted then is refused now
  refused-now-accepted   an event refused then is accepted now
  target                 accepted, into another state
  effects                other effects (a charge added, an email dropped, other parameters)
  timers                 other timers armed (another delay, a timer added or dropped)
  stopped                the replay could not go on (the new version threw, a snapshot does not restore)

An entity's comparison stops at its first change of state (what follows differs because of it).

  --machines MODULE   the release's module exporting \`machines\`
  --since D           only entities written in the last D (30m, 12h, 7d) or since a date (2026-11-01)
  --machine M         only machine M (default: every machine of the release)
  --sample N          at most N entities per machine, a stable pseudo-random sample
  --allow KIND        accept changes of this kind (expected ones); repeat or separate with commas
  --batch N           entities read per batch (default 200)
  --json              print the report as JSON
${databaseFlagsHelp}

Exit codes: 0 no outcome changed (beyond the allowed kinds), 1 something changed, 2 usage, 3 no database.`;

export async function run(args: string[]): Promise<number> {
  const { flags } = parse(
    args,
    {
      ...databaseFlags,
      since: { type: 'string' },
      machine: { type: 'string' },
      sample: { type: 'string' },
      allow: { type: 'string', multiple: true },
      batch: { type: 'string' },
      json: { type: 'boolean' },
    },
    { min: 0, max: 0, usage },
  );
  const since = flags.since === undefined ? undefined : sinceOf(flags.since, systemClock.now());
  const sample = flags.sample === undefined ? undefined : intFlag(flags.sample, 'sample', 0, 1);
  const batch = intFlag(flags.batch, 'batch', 200, 1, 10_000);
  const allowed = allowedKinds(flags.allow as unknown as string[] | undefined);
  const { tg } = await openRuntime(flags);
  const bar = progressBar(flags.json === true);
  try {
    const { database, machines, definition } = portsOf(tg);
    if (flags.machine !== undefined) definition(flags.machine); // TG_UNKNOWN_MACHINE
    const report = await replayHistory(database.client, database.schema, Object.fromEntries(machines), {
      ...(flags.machine !== undefined ? { machines: [flags.machine] } : {}),
      ...(since ? { since } : {}),
      ...(sample !== undefined ? { sample } : {}),
      batchSize: batch,
      onProgress: bar.update,
    });
    bar.done();
    const unexpected = report.findings.filter((f) => !allowed.has(f.kind));
    process.stdout.write(flags.json ? `${JSON.stringify({ ...report, allowed: [...allowed], ok: unexpected.length === 0 }, null, 2)}\n` : formatReplay(report, allowed));
    return unexpected.length === 0 ? 0 : 1;
  } finally {
    await tg.close();
  }
}

/** `7d`, `12h`, `30m`, `45s`, `2w` before `now`, or a date. */
export function sinceOf(value: string, now: number): Date {
  const at = parseSince(value, now);
  if (!at) throw new UsageError(`--since must be a duration (30m, 12h, 7d) or a date (2026-11-01), got '${value}'.`);
  return at;
}

function allowedKinds(values: readonly string[] | undefined): Set<ReplayFindingKind> {
  const allowed = new Set<ReplayFindingKind>();
  for (const kind of (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean)) {
    if (!(replayFindingKinds as readonly string[]).includes(kind)) throw new UsageError(`--allow takes ${replayFindingKinds.join(', ')}; got '${kind}'.`);
    allowed.add(kind as ReplayFindingKind);
  }
  return allowed;
}

/** The report as a table per machine: each (state, event, kind) with its count, examples and one before/after. */
export function formatReplay(report: ReplayRunReport, allowed: ReadonlySet<ReplayFindingKind> = new Set()): string {
  const lines: string[] = [];
  for (const m of report.machines) {
    lines.push(`${m.machine} (version ${m.version}): ${m.entities} entities, ${m.transitions} transitions replayed, ${m.changedEntities} with changed outcomes`);
    const findings = report.findings.filter((f) => f.machine === m.machine);
    if (findings.length === 0) continue;
    lines.push('  state                     event                                          change                  count  examples');
    for (const f of findings) {
      lines.push(`  ${f.state.padEnd(24)}  ${f.eventType.padEnd(45)}  ${(f.kind + (allowed.has(f.kind) ? ' (allowed)' : '')).padEnd(22)}  ${String(f.count).padStart(5)}  ${f.examples.join(', ')}`);
      lines.push(`      before: ${f.before}`);
      lines.push(`      after:  ${f.after}`);
    }
  }
  const unexpected = report.findings.filter((f) => !allowed.has(f.kind)).length;
  lines.push(
    `replay: ${report.transitions} transitions of ${report.entities} entities in ${(report.elapsedMs / 1000).toFixed(2)} s (${report.transitionsPerSecond}/s); ` +
      (report.findings.length === 0 ? 'no outcome changed.' : `${report.findings.length} changed (state, event, kind)${unexpected < report.findings.length ? `, ${report.findings.length - unexpected} allowed` : ''}.`),
  );
  return `${lines.join('\n')}\n`;
}
