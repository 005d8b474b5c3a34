import { systemClock } from '../../clock.ts';
import type { MachineStats } from '../../runtime/machine-stats.ts';
import type { VersionShare, VersionStats } from '../../runtime/version-stats.ts';
import { parse, UsageError } from '../args.ts';
import { databaseFlags, databaseFlagsHelp, openRuntime } from '../runtime.ts';
import { sinceOf } from './replay.ts';

const usage = 'tollgate stats <machine> [--by-version] [--threshold 0.05] [--since 7d] [--json]';

export const help = `${usage}

The fleet of one machine now: entities per state, stuck entities, refused attempts of the last 15 minutes and
effects not settled, per state (what GET /v1/machines/{machine}/stats answers).

With --by-version, the canary comparison: per machine version, the share of transitions per (state, event) and the
distribution of entities over states, flagging (!) those whose share differs between versions by more than the
threshold: the edge-state cohorts a canary did not exercise. Transitions are counted by the version that evaluated
them; \`$migrated\` rows are not traffic and are left out.

  --by-version        compare machine versions (GET .../stats?byVersion=true)
  --threshold X       flag shares that differ by more than X, 0 to 1 (default 0.05)
  --since D           count transitions of the last D (30m, 12h, 7d) or since a date only (default: all)
  --json              print the stats as JSON
${databaseFlagsHelp}

Exit codes: 0 ok (flags are information, not failures), 1 a coded error (TG_UNKNOWN_MACHINE), 2 usage.`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(
    args,
    { ...databaseFlags, 'by-version': { type: 'boolean' }, threshold: { type: 'string' }, since: { type: 'string' }, json: { type: 'boolean' } },
    { min: 1, max: 1, usage },
  );
  const machine = positionals[0] as string;
  const threshold = flags.threshold === undefined ? undefined : Number(flags.threshold);
  if (threshold !== undefined && !(flags.threshold!.trim() !== '' && threshold >= 0 && threshold <= 1)) throw new UsageError(`--threshold must be a number from 0 to 1, got '${flags.threshold}'.`);
  if (!flags['by-version'] && (threshold !== undefined || flags.since !== undefined)) throw new UsageError(`--threshold and --since go with --by-version. Usage: ${usage}`);
  const since = flags.since === undefined ? undefined : sinceOf(flags.since, systemClock.now());
  const { tg } = await openRuntime(flags);
  try {
    const stats = await tg.machineStats(machine);
    const byVersion = flags['by-version'] ? await tg.versionStats(machine, { ...(threshold !== undefined ? { threshold } : {}), ...(since ? { since } : {}) }) : undefined;
    if (flags.json) process.stdout.write(`${JSON.stringify(byVersion ? { ...stats, byVersion } : stats, null, 2)}\n`);
    else process.stdout.write(byVersion ? formatVersionStats(byVersion) : formatStats(stats));
    return 0;
  } finally {
    await tg.close();
  }
}

function formatStats(stats: MachineStats): string {
  const lines = [`${stats.machine} (version ${stats.version}): ${stats.entities} entities`, '  state                         entities  stuck  refused (15 min)  effects pending/failed'];
  for (const [state, s] of Object.entries(stats.states)) {
    const refused = s.refusals.reduce((n, r) => n + r.count, 0);
    lines.push(`  ${state.padEnd(28)}  ${String(s.count).padStart(8)}  ${String(s.stuck?.count ?? '-').padStart(5)}  ${String(refused).padStart(16)}  ${s.effects.pending + s.effects.dispatched}/${s.effects.failed}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The comparison as two tables, a column per version, flagged rows marked `!`. */
export function formatVersionStats(stats: VersionStats): string {
  const versions = stats.versions;
  const cell = (shares: readonly VersionShare[], version: number) => {
    const s = shares.find((x) => x.version === version);
    return s ? `${(s.share * 100).toFixed(1)}% (${s.count})` : '-';
  };
  const header = versions.map((v) => `v${v.version}`.padStart(16)).join('');
  const lines = [
    `${stats.machine}: ${versions.map((v) => `v${v.version} ${v.transitions} transitions, ${v.entities} entities`).join('; ')}` +
      `; flagged (!) when shares differ by more than ${(stats.threshold * 100).toFixed(1)} points${stats.since ? `; transitions since ${stats.since}` : ''}`,
    '',
    `  transitions per (state, event)                          ${header}  difference`,
  ];
  for (const t of stats.transitions) {
    lines.push(`${t.flagged ? '! ' : '  '}${`${t.state} ${t.event}`.padEnd(54)}  ${versions.map((v) => cell(t.shares, v.version).padStart(16)).join('')}  ${(t.difference * 100).toFixed(1)}`);
  }
  lines.push('', `  entities per state                                      ${header}  difference`);
  for (const s of stats.states) {
    lines.push(`${s.flagged ? '! ' : '  '}${s.state.padEnd(54)}  ${versions.map((v) => cell(s.shares, v.version).padStart(16)).join('')}  ${(s.difference * 100).toFixed(1)}`);
  }
  const flagged = stats.transitions.filter((t) => t.flagged).length + stats.states.filter((s) => s.flagged).length;
  lines.push('', versions.length < 2 ? 'only one version has traffic: nothing to compare.' : `${flagged} flagged.`);
  return `${lines.join('\n')}\n`;
}
