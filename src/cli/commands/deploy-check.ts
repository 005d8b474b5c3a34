import { intFlag, parse } from '../args.ts';
import { progressBar } from '../progress-bar.ts';
import { queuePrefixOf, redisUrlOf, registerHandlers } from '../processes.ts';
import { databaseFlags, databaseFlagsHelp, loadMachineModule, openRuntime } from '../runtime.ts';
import { deployCheck, type DeployCheckReport } from '../../evolution/deploy-check.ts';
import { portsOf } from '../../runtime/ports.ts';

const usage = 'tollgate deploy-check --machines <new module> [--handlers MODULE] [--redis-url URL] [--queue-prefix P] [--batch 500] [--json]';

export const help = `${usage}

Before deploying a release, checks against the live database (reading only) that every live entity has a path
into the release's machines: restored as stored, or carried by its migrations exactly as \`tollgate entities
migrate\` would. Names, with counts and example ids: entities per (machine version, state) the release cannot
restore (a state removed or renamed without a migration), migrations that fail, scheduled timers whose delayed
transition is gone, pending effects of types the release no longer declares (or, with --handlers, has no handler
for), unsent compensations and follow-up events of types it lacks, events waiting in the event workers' queue in Redis
(tg.enqueue) of types it lacks, a machine it no longer registers, and the policy version it would run.

Run it in CI against a staging copy or a read replica of production (DATABASE_URL): it writes nothing.

  --machines MODULE   the release's module exporting \`machines\` (and, optionally, \`policies\`)
  --handlers MODULE   the release's registerHandlers(tg) module: also check every effect type has a handler
  --redis-url URL     the workers' Redis, to read the queued events (default: $REDIS_URL or the config's redis;
                      without one the output says queued events were not checked). Jobs are only read.
  --queue-prefix P    BullMQ key prefix (default: $TOLLGATE_QUEUE_PREFIX, the config's, or tollgate)
  --batch N           entities (and queued jobs) read per page (default 500)
  --json              print the report as JSON
${databaseFlagsHelp}

Exit codes: 0 every live entity has a path into the release, 1 a problem was found, 2 usage, 3 no database (or a
configured Redis that cannot be reached).`;

export async function run(args: string[]): Promise<number> {
  const { flags } = parse(
    args,
    { ...databaseFlags, handlers: { type: 'string' }, batch: { type: 'string' }, json: { type: 'boolean' }, 'redis-url': { type: 'string' }, 'queue-prefix': { type: 'string' } },
    { min: 0, max: 0, usage },
  );
  const batch = intFlag(flags.batch, 'batch', 500, 1, 100_000);
  const redisUrl = await redisUrlOf(flags);
  const { policies } = await loadMachineModule(flags.machines);
  const { tg } = await openRuntime(flags);
  const bar = progressBar(flags.json === true);
  try {
    const handlers = flags.handlers === undefined ? undefined : (await registerHandlers(tg, flags.handlers), [...portsOf(tg).effectHandlers.keys()]);
    const { database, machines } = portsOf(tg);
    const schema = database.schema;
    const queuedEvents = redisUrl
      ? // BullMQ is loaded only when there is a queue to read.
        (await import('../../jobs/queued-events.ts')).readQueuedEvents({ redisUrl, prefix: await queuePrefixOf(flags), namespace: schema, pageSize: batch })
      : { unchecked: "no Redis configured: set REDIS_URL, --redis-url or the config's redis" };
    const report = await deployCheck(database.client, schema, Object.fromEntries(machines), {
      ...(policies ? { policies } : {}),
      queuedEvents,
      ...(handlers ? { handlerTypes: handlers } : {}),
      batch,
      onProgress: bar.update,
    });
    bar.done();
    process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatDeployCheck(report));
    return report.ok ? 0 : 1;
  } finally {
    await tg.close();
  }
}

/** The report as tables: the paths per machine, then each problem with its count and example ids. */
export function formatDeployCheck(report: DeployCheckReport): string {
  const lines: string[] = [];
  for (const m of report.machines) {
    const timers = Object.entries(m.timers).filter(([, n]) => n > 0);
    lines.push(
      `${m.machine} (release version ${m.version}, policy ${m.policyVersion ?? '(none)'}): ${m.entities} entities` +
        (timers.length ? `; migrating them would leave timers ${timers.map(([a, n]) => `${n} ${a}`).join(', ')}` : ''),
    );
    if (m.paths.length) lines.push('  version  state                       entities  path');
    for (const p of m.paths) {
      const to = p.toStates ? ` -> ${Object.entries(p.toStates).map(([state, n]) => (Object.keys(p.toStates!).length > 1 ? `${state} (${n})` : state)).join(', ')}` : '';
      lines.push(`  ${String(p.machineVersion).padEnd(7)}  ${p.state.padEnd(26)}  ${String(p.count).padStart(8)}  ${p.path}${to}`);
    }
  }
  const queued = report.queuedEvents;
  lines.push(queued.checked ? `queued events: ${queued.jobs} waiting in Redis, checked against the release` : `queued events: not checked (${queued.reason})`);
  if (report.problems.length === 0) {
    lines.push('deploy-check: ok, every live entity has a path into the release.');
    return `${lines.join('\n')}\n`;
  }
  lines.push(`deploy-check: ${report.problems.length} problem(s)`);
  lines.push('  machine         problem                     version  state / subject             count  examples');
  for (const p of report.problems) {
    const where = [p.state, p.subject].filter((x) => x !== undefined).join(' ');
    lines.push(
      `  ${p.machine.padEnd(14)}  ${p.kind.padEnd(26)}  ${String(p.machineVersion ?? '').padEnd(7)}  ${where.padEnd(26)}  ${String(p.count).padStart(5)}  ${p.examples.join(', ')}`,
    );
    lines.push(`      ${p.detail}`);
  }
  return `${lines.join('\n')}\n`;
}
