import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot } from 'xstate';
import { machines } from '../../machines/index.ts';
import { machines as release2 } from '../../examples/evolution/machines-v2.ts';
import { ManualClock, type Tollgate } from '../../src/index.ts';
import type { AnyMachineDefinition, MachineRegistry } from '../../src/engine/definition.ts';
import type { PathStart } from '../../src/testing/run-path.ts';
import { pathTests, type PathTestOptions } from '../../src/testing/index.ts';
import { ticketRelease1, ticketRelease2 } from '../fixtures/ticket-releases.ts';
import { backends, type Backend } from '../support/databases.ts';
import { releaseDatabase } from '../support/evolution.ts';
import { runCli } from '../cli/support.ts';
import { runPrefix, runRest, splitPaths, type MigratedPath } from './migrated-paths.ts';

interface Pair {
  readonly machine: string;
  readonly older: MachineRegistry;
  readonly newer: MachineRegistry;
  /** The new release's machines module, for `tollgate entities migrate`. */
  readonly module: string;
  readonly options: PathTestOptions;
}

const DAY = 86_400_000;
const withHistory = (s: AnyMachineSnapshot) =>
  JSON.stringify([s.value, Object.entries(s.historyValue ?? {}).map(([id, nodes]) => [id, (nodes as Array<{ id: string }>).map((n) => n.id)])]);
const pairs: Pair[] = [
  // docs/evolution.md's release 2: `grace` split into a first and a final notice, its timer re-derived.
  {
    machine: 'subscription',
    older: machines,
    newer: release2,
    module: 'examples/evolution/machines-v2.ts',
    options: { input: { customerId: 'c1', plan: 'pro', paymentMethodId: 'pm_0', trialPeriodMs: 14 * DAY, gracePeriodMs: 4 * DAY }, serializeState: (s) => JSON.stringify(s.value) },
  },
  // A renamed state a history state remembers, a new timer, a shorter one, a context field added.
  // States are told apart by what the history state remembers too, so paths resume into each remembered state.
  { machine: 'ticket', older: { ticket: ticketRelease1 }, newer: { ticket: ticketRelease2 }, module: 'test/fixtures/ticket-release-2.ts', options: { input: { subject: 'printer on fire' }, serializeState: withHistory } },
];

describe.each(backends().flatMap((backend) => pairs.map((pair) => [backend, pair.machine] as const)))('%s: paths of the new version on migrated %s entities', (backend: Backend, name: string) => {
  const pair = pairs.find((p) => p.machine === name)!;
  const older = pair.older[pair.machine] as AnyMachineDefinition;
  const newer = pair.newer[pair.machine] as AnyMachineDefinition;
  const suite = pathTests(pair.machine, { ...pair.options, machines: pair.newer, paths: 'transitions' });
  const input = pair.options.input;
  const events = pair.options.events ?? {};
  const split = splitPaths(older, newer, input, suite.paths);
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const starts = new Map<MigratedPath, PathStart>();
  let db: Awaited<ReturnType<typeof releaseDatabase>>;
  let v2: Tollgate | undefined;
  const ctx = { machineName: pair.machine, older, newer, input, events };

  beforeAll(async () => {
    db = await releaseDatabase(backend);
    const v1 = await db.open(pair.older, clock);
    for (const path of split) starts.set(path, await runPrefix(v1 as unknown as Tollgate, ctx, path));
    clock.advance(1_000); // the deploy comes later: re-armed timers run from when their state was entered, not from now
    v2 = (await db.open(pair.newer, clock)) as unknown as Tollgate;
  }, 600_000);
  afterAll(() => db.close());

  it('splits every path, most of them after steps the older version took', () => {
    expect(split.filter((p) => !p.lazy).length).toBeGreaterThanOrEqual(suite.paths.length);
    expect(split.filter((p) => p.prefix.length > 0).length).toBeGreaterThan(suite.paths.length / 2);
    expect(split.some((p) => p.lazy)).toBe(true);
  });

  for (const path of split.filter((p) => p.lazy)) it(path.name, () => runRest(v2!, ctx, path, starts.get(path)!));

  it('`tollgate entities migrate` migrates every entity no event migrated', async () => {
    const bulk = split.filter((p) => !p.lazy);
    const target = await db.release(); // the command is another process: an embedded data directory takes one at a time
    const run = await runCli(['entities', 'migrate', pair.machine, '--machines', pair.module, '--batch', '7', '--json', ...target], { timeoutMs: 120_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ total: bulk.length, migrated: bulk.length, failed: 0, stopped: false });
    v2 = (await db.open(pair.newer, clock)) as unknown as Tollgate;
  }, 180_000);

  for (const path of split.filter((p) => !p.lazy)) it(path.name, () => runRest(v2!, ctx, path, starts.get(path)!));
});
