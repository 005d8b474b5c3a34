import { beforeAll, describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot } from 'xstate';
import { ManualClock, type Tollgate } from '../../src/index.ts';
import { pathTests, type PathTestOptions } from '../../src/testing/index.ts';
import { deep, grid } from '../fixtures/stress-machines.ts';
import { testRuntime } from '../support/databases.ts';

const machines = { deep, grid };

// History states are told apart too: where RESUME leads depends on the stored history, not on value or context.
const withHistory = (s: AnyMachineSnapshot) =>
  JSON.stringify([
    s.value,
    Object.entries(s.historyValue ?? {}).map(([id, nodes]) => [id, (nodes as Array<{ id: string }>).map((n) => n.id)]),
  ]);

const suites: Array<[keyof typeof machines, PathTestOptions]> = [
  ['deep', { input: { limit: 1 }, events: { BUMP: [{ by: 1 }, { by: 7 }] }, serializeState: withHistory, paths: 'transitions' }],
  ['grid', { events: { INC: [{ by: 1 }, { by: 2 }, { by: 9 }] }, serializeState: (s) => JSON.stringify([s.value, s.context.enabled, s.context.n]), paths: 'transitions' }],
];

describe.each(suites)('%s (stress machine): generated paths through the runtime on Postgres', (name, options) => {
  const suite = pathTests(name, { ...options, machines });
  let tg: Tollgate<typeof machines>;
  beforeAll(async () => {
    tg = await testRuntime('postgres', { machines, clock: new ManualClock(Date.parse('2026-01-01T00:00:00Z')) });
  });

  for (const path of suite.paths) it(path.name, () => path.run(tg));

  it('the paths drive every accepted transition, delayed ones included', () => {
    const { uncovered, transitions } = suite.coverage();
    expect(uncovered).toEqual([]);
    expect(transitions.some((t) => t.event.startsWith('xstate.after.'))).toBe(true);
  });
});
