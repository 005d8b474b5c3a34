import { beforeAll, describe, expect, it } from 'vitest';
import type { AnyStateNode } from 'xstate';
import { machines } from '../../machines/index.ts';
import { ManualClock, type Tollgate } from '../../src/index.ts';
import { pathTests } from '../../src/testing/index.ts';
import { testRuntime } from '../support/databases.ts';
import { pathTestOptions } from './options.ts';

type Registry = typeof machines;
const names = Object.keys(machines) as Array<keyof Registry & string>;

describe.each(names)('%s: generated paths through the runtime on Postgres', (name) => {
  const variants = (pathTestOptions[name] ?? []).map((options, i) => ({ i, suite: pathTests(name, { ...options, machines }) }));
  let tg: Tollgate<Registry>;
  beforeAll(async () => {
    tg = await testRuntime('postgres', { machines, clock: new ManualClock(Date.parse('2026-01-01T00:00:00Z')) });
  });

  it('has path-test options', () => {
    expect(variants.length).toBeGreaterThan(0);
  });

  for (const { i, suite } of variants) {
    describe(`input variant ${i + 1}`, () => {
      for (const path of suite.paths) it(path.name, () => path.run(tg));

      it('the paths drive every accepted transition of the walk', () => {
        const coverage = suite.coverage();
        expect(coverage.transitions.length).toBeGreaterThan(0);
        expect(coverage.uncovered).toEqual([]);
      });
    });
  }

  it('the variants together reach every state of the machine', () => {
    const reached = new Set(variants.flatMap((v) => v.suite.reachableStates.flatMap((s) => s.split(','))));
    const leaves = leafPaths(machines[name].machine.root);
    expect(leaves.filter((leaf) => !reached.has(leaf))).toEqual([]);
  });
});

function leafPaths(node: AnyStateNode): string[] {
  const children = Object.values(node.states);
  if (children.length === 0) return node.type === 'history' ? [] : [node.path.join('.')];
  return children.flatMap(leafPaths);
}
