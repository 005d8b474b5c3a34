import type { AnyMachineDefinition, MachineRegistry, PathTestDefaults } from '../engine/definition.ts';
import type { Tollgate } from '../runtime/create-tollgate.ts';
import { stateToString } from '../engine/state-value.ts';
import { pathCoverage, productionCoverage, type PathCoverage, type ProductionCoverage } from './coverage.ts';
import { traverse, type GeneratedPath, type ModelTransition } from './generate.ts';
import { oracleInitial } from './oracle.ts';
import { runPath, type PathRunResult } from './run-path.ts';

/**
 * Options of `pathTests`. `input`, `events`, `serializeState` and `paths` default to the definition's own
 * `pathTesting` (its first entry when it lists several), then to `{}`, derived payloads, value + context (value
 * alone when that graph does not close) and `shortest`.
 */
export interface PathTestOptions extends PathTestDefaults {
  /** Graph walk steps before giving up with a message about serializeState. Default 10,000. */
  readonly limit?: number;
  /** Registry name of the machine when passing a definition. Default: found by identity in the runtime's machines. */
  readonly name?: string;
  /** Registry to resolve a machine passed by name. */
  readonly machines?: MachineRegistry;
  /** Prefix of the generated entity ids. Default `path`. */
  readonly entityPrefix?: string;
}

/** One generated path, ready to become a test. */
export interface PathTest extends GeneratedPath {
  /** Runs the path on `tg` (a real database); rejects with a PathDivergence at the first difference from XState. */
  run(tg: Tollgate): Promise<PathRunResult>;
}

/** The generated path tests of one machine. */
export interface PathTestSuite {
  /** The registry name, when known before a runtime is given. */
  readonly machine: string | undefined;
  readonly paths: readonly PathTest[];
  /** Leaf-path strings of every reachable state. */
  readonly reachableStates: readonly string[];
  /** Every accepted (from, event, to) edge of the walk. */
  readonly transitions: readonly ModelTransition[];
  /** What the generation chose on its own (e.g. telling states apart by value because the graph did not close). */
  readonly notes: readonly string[];
  /** Which transitions the paths cover. */
  coverage(): PathCoverage;
  /** Coverage set against the history table of `tg`'s database. */
  productionCoverage(tg: Tollgate): Promise<ProductionCoverage>;
  /** Runs every path in order; stops at the first divergence (rejects with it). `onPath` sees each result. */
  runAll(tg: Tollgate, onPath?: (result: PathRunResult) => void): Promise<PathRunResult[]>;
}

/**
 * Generates paths through a machine with @xstate/graph and turns each into a test that drives a fresh entity
 * through the real runtime, checked step by step against XState's pure `transition()`; the path that first reaches
 * each state also sends every event that state must refuse.
 *
 * @example
 * import { pathTests } from 'tollgate/testing';
 * const suite = pathTests(subscription, { name: 'subscription', input: { customerId: 'c1', plan: 'pro' } });
 * for (const path of suite.paths) it(path.name, () => path.run(tg));
 */
export function pathTests(machine: AnyMachineDefinition | string, options: PathTestOptions = {}): PathTestSuite {
  const { definition, name } = resolve(machine, options);
  const label = name ?? definition.machine.id;
  const own = pathTestDefaults(definition)[0] ?? {};
  const events = options.events ?? own.events ?? {};
  const input = options.input ?? own.input ?? {};
  const walk = traverse({
    machineName: label,
    definition,
    input,
    events,
    serializeState: options.serializeState ?? own.serializeState,
    limit: options.limit ?? 10_000,
    strategy: options.paths ?? own.paths ?? 'shortest',
  });
  const initial = stateToString(oracleInitial(definition.machine, input).snapshot.value);
  const nameIn = (tg: Tollgate): string => name ?? registeredName(tg, definition);
  const run = (tg: Tollgate, path: GeneratedPath) =>
    runPath(tg, { machineName: nameIn(tg), definition, input, events, entityPrefix: options.entityPrefix ?? 'path' }, path);
  const paths = walk.paths.map((path): PathTest => ({ ...path, run: (tg) => run(tg, path) }));
  const coverage = () => pathCoverage(walk.transitions, walk.paths, initial);
  return {
    machine: name,
    paths,
    reachableStates: walk.reachableStates,
    transitions: walk.transitions,
    notes: walk.notes,
    coverage,
    productionCoverage: (tg) => productionCoverage(tg, nameIn(tg), coverage()),
    async runAll(tg, onPath) {
      const results: PathRunResult[] = [];
      for (const path of paths) {
        const result = await path.run(tg);
        onPath?.(result);
        results.push(result);
      }
      return results;
    },
  };
}

/** The definition's own path-testing defaults, as a list of variants (empty when it has none). */
export function pathTestDefaults(definition: AnyMachineDefinition): PathTestDefaults[] {
  const own = definition.pathTesting;
  if (own === undefined) return [];
  return Array.isArray(own) ? [...(own as readonly PathTestDefaults[])] : [own as PathTestDefaults];
}

function resolve(machine: AnyMachineDefinition | string, options: PathTestOptions): { definition: AnyMachineDefinition; name?: string } {
  if (typeof machine !== 'string') return { definition: machine, name: options.name };
  const definition = options.machines?.[machine];
  if (!definition) {
    const known = Object.keys(options.machines ?? {}).join(', ') || '(none: pass options.machines)';
    throw new Error(`pathTests: no machine named '${machine}'. Known: ${known}.`);
  }
  return { definition, name: machine };
}

function registeredName(tg: Tollgate, definition: AnyMachineDefinition): string {
  const found = Object.entries(tg.machines).find(([, d]) => d === definition);
  if (!found) throw new Error(`pathTests: the runtime has no machine registered with this definition; pass options.name.`);
  return found[0];
}
