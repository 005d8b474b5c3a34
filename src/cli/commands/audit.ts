import type { AuditReport } from '../../audit/run-audit.ts';
import { UsageError, intFlag, parse } from '../args.ts';
import { progressBar } from '../progress-bar.ts';
import { databaseFlags, databaseFlagsHelp, openRuntime } from '../runtime.ts';

const usage = 'tollgate audit [--machine NAME] [--since ISO-time] [--full] [--json] [--accept-overrides]';

export const help = `${usage}

Finds drift: replays each entity's history from its create input through its machine and compares with what is
stored (the snapshot, every history row's target state, effects and timers, the latest row against the entity),
checks its state exists, that every effect and timer row belongs to a committed transition of the entity, that
completed effects' follow-ups were answered, that no timer is scheduled for a state the entity left, and lists
overrides. Prints drift by kind with counts and example ids; exits 1 on drift, 0 when clean.

Incremental: a checkpoint per entity version (audit_checkpoints), so a second run replays only the entities whose
version moved and carries the others' findings; the effect and timer checks run whole in the database each time.
A write that bypassed the triggers keeps the version: --full replays everything again.
Sets tollgate_audit_drift_entities{machine,kind} (every process's /metrics shows the last run). Progress on
stderr: a bar on a terminal, a line per 10% otherwise, none with --json.
  --machine NAME        only this machine (default: every registered machine)
  --since ISO-TIME      only entities written since then
  --full                ignore the checkpoint: replay every entity
  --json                print the report as JSON
  --accept-overrides    list legal overrides without counting them as drift (illegal ones still count)
  --batch N             entities read and replayed per batch (default 500)
  --follow-up-grace S   seconds a completed effect's follow-up may stay unanswered (default 600)
${databaseFlagsHelp}`;

export async function run(args: string[]): Promise<number> {
  const { flags } = parse(
    args,
    {
      ...databaseFlags,
      machine: { type: 'string' },
      since: { type: 'string' },
      full: { type: 'boolean' },
      json: { type: 'boolean' },
      'accept-overrides': { type: 'boolean' },
      batch: { type: 'string' },
      'follow-up-grace': { type: 'string' },
    },
    { min: 0, max: 0, usage },
  );
  let since: Date | undefined;
  if (flags.since !== undefined) {
    since = new Date(flags.since);
    if (Number.isNaN(since.getTime())) throw new UsageError(`--since must be an ISO time (2026-12-01T00:00:00Z), got '${flags.since}'.`);
  }
  const batchSize = intFlag(flags.batch, 'batch', 500, 1, 10_000);
  const followUpGraceMs = intFlag(flags['follow-up-grace'], 'follow-up-grace', 600, 0) * 1000;
  const bar = progressBar(flags.json === true);
  const { tg } = await openRuntime(flags);
  try {
    const report = await tg.governance.audit({
      ...(flags.machine !== undefined ? { machine: flags.machine } : {}),
      ...(since ? { since } : {}),
      full: flags.full ?? false,
      batchSize,
      followUpGraceMs,
      onProgress: bar.update,
    });
    bar.done();
    const accepted = flags['accept-overrides'] ? new Set(['override']) : new Set<string>();
    const counted = report.drift.filter((d) => !accepted.has(d.kind));
    if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stdout.write(summary(report, accepted));
    return counted.length > 0 ? 1 : 0;
  } finally {
    await tg.close();
  }
}

const n = (value: number) => value.toLocaleString('en-US');

/** The report for people: totals, drift by kind with examples, overrides, and the first entities' details. */
export function summary(report: AuditReport, accepted: ReadonlySet<string> = new Set()): string {
  const lines: string[] = [];
  const rate = report.durationMs > 0 && report.audited > 0 ? `, ${n(Math.round((report.audited * 1000) / report.durationMs))} entities/s` : '';
  lines.push(
    `audited ${n(report.audited)} ${report.audited === 1 ? 'entity' : 'entities'} (${n(report.evaluated)} transitions replayed) in ${(report.durationMs / 1000).toFixed(1)} s${rate}; ` +
      `${n(report.unchanged)} unchanged since their checkpoint` +
      (report.notReplayed > 0 ? `; ${n(report.notReplayed)} of another machine version (checked, not replayed)` : ''),
  );
  const counted = report.drift.filter((d) => !accepted.has(d.kind));
  const drifted = new Set(report.entities.filter((e) => e.findings.some((f) => !accepted.has(f.kind))).map((e) => `${e.machine}/${e.entityId}`));
  if (counted.length === 0) lines.push('no drift');
  else lines.push(`DRIFT in ${n(drifted.size)} ${drifted.size === 1 ? 'entity' : 'entities'}:`);
  const width = Math.max(0, ...report.drift.map((d) => d.machine.length));
  const kindWidth = Math.max(0, ...report.drift.map((d) => d.kind.length));
  for (const d of report.drift) {
    const note = accepted.has(d.kind) ? '  (accepted)' : '';
    const more = d.entities > d.examples.length ? ', ...' : '';
    lines.push(`  ${d.machine.padEnd(width)}  ${d.kind.padEnd(kindWidth)}  ${String(d.entities).padStart(6)}  e.g. ${d.examples.join(', ')}${more}${note}`);
  }
  const overrides = report.entities.flatMap((e) => e.findings.filter((f) => f.kind === 'override' || f.kind === 'illegal-override').map((f) => `  ${e.machine}/${e.entityId}  ${f.kind === 'illegal-override' ? 'ILLEGAL ' : ''}${f.detail}`));
  if (overrides.length > 0) lines.push('overrides:', ...overrides.slice(0, 50), ...(overrides.length > 50 ? [`  ... and ${n(overrides.length - 50)} more (--json)`] : []));
  const details = report.entities.flatMap((e) =>
    e.findings.filter((f) => f.kind !== 'override' && f.kind !== 'illegal-override').map((f) => `  ${e.machine}/${e.entityId}  ${f.kind}: ${f.detail}`),
  );
  if (details.length > 0) lines.push('details:', ...details.slice(0, 50), ...(details.length > 50 ? [`  ... and ${n(details.length - 50)} more (--json)`] : []));
  return `${lines.join('\n')}\n`;
}
