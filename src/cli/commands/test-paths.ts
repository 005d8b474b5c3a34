import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ManualClock } from '../../clock.ts';
import { createTollgate, type Tollgate } from '../../index.ts';
import { formatCoverage, formatPathTable, mergeCoverage, pathTestDefaults, productionCoverage, PathDivergence, pathTests, type PathRunResult, type PathStrategy, type PathTestOptions, type PathTestSuite } from '../../testing/index.ts';
import { jsonArg, parse, UsageError } from '../args.ts';
import { loadMachines } from '../runtime.ts';
import type { AnyMachineDefinition, MachineRegistry } from '../../engine/definition.ts';
import { firstIssue } from '../../zod-issue.ts';
import { portsOf } from '../../runtime/ports.ts';

const usage = 'tollgate test-paths <machine> [--input JSON] [--options MODULE] [--paths shortest|transitions|simple] [--machines MODULE] [--database-url URL [--schema NAME]] [--coverage-from URL [--coverage-schema NAME]]';

export const help = `${usage}

Generates paths through the machine with @xstate/graph and drives each through a real runtime on a fresh entity,
checking every step against XState's pure transition(): state, context, history, effects, timers (delayed events
are fired through their timer rows on a simulated clock). The path that first reaches each state also sends every
event that state must refuse. Prints a table of paths; exits 1 at the first divergence, showing the path.

  --input JSON          create input of the path entities (overrides the options; must pass the input schema)
  --options MODULE      module exporting \`pathTestOptions\`: { [machine]: PathTestOptions | PathTestOptions[] }
                        (input, event payload samples, serializeState); e.g. test/paths/options.ts. Default: the
                        machine definition's own \`pathTesting\`. When states told apart by value and context
                        never close (a counter), they are told apart by value alone, and a note says so.
  --paths STRATEGY      shortest (default: one per reachable state), transitions (every transition), simple
  --machines MODULE     module exporting \`machines\` (default: the config's)
  --database-url URL    run on Postgres, in the schema --schema (default tollgate_paths), instead of a throw-away
                        embedded database. Never point it at production's schema: the paths write entities.
  --schema NAME         schema for --database-url (default tollgate_paths)
  --coverage-from URL   also read the history table of this Postgres (schema --coverage-schema) and report
                        transitions production took that no path covers, and those it never takes (read only)
  --coverage-schema NAME  schema of that history table (default tollgate); checked before any path runs

Exit codes: 0 every path agrees, 1 a divergence, 2 usage (an invalid --input, options that cannot generate paths).`;

const strategies: readonly PathStrategy[] = ['shortest', 'transitions', 'simple'];

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(
    args,
    {
      input: { type: 'string' },
      options: { type: 'string' },
      paths: { type: 'string' },
      machines: { type: 'string' },
      'database-url': { type: 'string' },
      schema: { type: 'string' },
      'coverage-from': { type: 'string' },
      'coverage-schema': { type: 'string' },
    },
    { min: 1, max: 1, usage },
  );
  const name = positionals[0] as string;
  const machines = await loadMachines(flags.machines);
  const definition = machines[name];
  if (!definition) throw new UsageError(`no machine named '${name}'. Known: ${Object.keys(machines).join(', ')}.`);
  const strategy = flags.paths as PathStrategy | undefined;
  if (strategy !== undefined && !strategies.includes(strategy)) throw new UsageError(`--paths must be one of ${strategies.join(', ')}, got '${strategy}'.`);

  // The options module, else the definition's own pathTesting, else nothing (input {}, derived payloads).
  let variants = await optionsFor(name, flags.options);
  if (variants.length === 0) variants = pathTestDefaults(definition);
  if (flags.input !== undefined) {
    const input = jsonArg(flags.input, '--input');
    variants = variants.length ? variants.map((v) => ({ ...v, input })) : [{ input }];
  }
  if (variants.length === 0) variants = [{}];
  for (const variant of variants) checkInput(name, definition, variant.input ?? {}, flags.input !== undefined);
  const suites = variants.map((v) => generate(name, { ...v, machines, ...(strategy ? { paths: strategy } : {}) }));
  for (const suite of suites) for (const note of suite.notes) process.stdout.write(`note: ${note}\n`);

  // The history database is opened (and its table checked) first: a wrong URL or schema fails before the paths run.
  const prod = flags['coverage-from'] ? await openHistory(machines, flags['coverage-from'], flags['coverage-schema'] ?? 'tollgate') : undefined;
  try {
    return await runPaths(name, suites, machines, flags, prod);
  } finally {
    await prod?.close();
  }
}

// An input the machine's schema refuses would make every path a TG_INVALID_INPUT, not a divergence: a usage error.
function checkInput(name: string, definition: AnyMachineDefinition, input: unknown, fromFlag: boolean): void {
  const parsed = definition.input.safeParse(input);
  if (parsed.success) return;
  const { field, message } = firstIssue(parsed.error, '(input)');
  const source = fromFlag ? '--input' : `the path-testing input of '${name}'`;
  throw new UsageError(`${source} is not a valid create input for '${name}': '${field}' ${message}.`);
}

// Paths that cannot be generated (no payload for an event, an unbounded context) are a problem of the options: exit 2.
function generate(name: string, options: PathTestOptions): PathTestSuite {
  try {
    return pathTests(name, options);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${message} From the CLI, set it in the --options module (pathTestOptions.${name}).`);
  }
}

async function runPaths(
  name: string,
  suites: readonly PathTestSuite[],
  machines: MachineRegistry,
  flags: { 'database-url'?: string | undefined; schema?: string | undefined },
  prod: Tollgate | undefined,
): Promise<number> {
  const tg = await createTollgate({
    machines,
    database: flags['database-url'] ? { url: flags['database-url'] } : { dataDir: 'memory://' },
    ...(flags['database-url'] ? { schema: flags.schema ?? 'tollgate_paths' } : {}),
    clock: new ManualClock(Date.now()),
  });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    await tg.migrate();
    const rows: Array<{ path: string; result?: PathRunResult; error?: string }> = [];
    for (const [i, suite] of suites.entries()) {
      if (suites.length > 1) out(`${name}, input variant ${i + 1} of ${suites.length}: ${suite.paths.length} paths`);
      for (const path of suite.paths) {
        try {
          rows.push({ path: path.name, result: await path.run(tg as Tollgate) });
        } catch (error) {
          rows.push({ path: path.name, error: String(error) });
          out(formatPathTable(rows));
          out('');
          out(error instanceof PathDivergence ? error.message : `Path "${path.name}" failed: ${error instanceof Error ? error.message : String(error)}`);
          out(`steps: ${path.steps.map((s) => s.event.type).join(' -> ') || '(create only)'}`);
          return 1;
        }
      }
    }
    out(formatPathTable(rows));
    out('');
    for (const suite of suites) out(formatCoverage(name, suite.coverage()));
    // One report against production for all the option sets: a transition any of them tests is tested.
    const combined = mergeCoverage(suites.map((suite) => suite.coverage()));
    if (suites.length > 1) out(formatCoverage(`${name} (all option sets)`, combined));
    if (prod) out(formatCoverage(`${name} (production history)`, await productionCoverage(prod, name, combined)));
    out(`${rows.length} paths agree with XState.`);
    return 0;
  } finally {
    await tg.close();
  }
}

/** A runtime on the history database, without migrating: it only reads `<schema>.transitions`, which must exist. */
async function openHistory(machines: MachineRegistry, url: string, schema: string): Promise<Tollgate> {
  const prod = (await createTollgate({ machines, database: { url }, schema })) as Tollgate;
  try {
    if (!(await portsOf(prod).hasHistory())) throw new UsageError(`no history table "${schema}".transitions in the --coverage-from database; pass the schema production runs in with --coverage-schema.`);
    return prod;
  } catch (error) {
    await prod.close();
    throw error;
  }
}

async function optionsFor(name: string, modulePath: string | undefined): Promise<PathTestOptions[]> {
  if (!modulePath) return [];
  const url = pathToFileURL(isAbsolute(modulePath) ? modulePath : resolve(modulePath)).href;
  const loaded = (await import(url)) as { pathTestOptions?: Record<string, PathTestOptions | readonly PathTestOptions[]> };
  if (!loaded.pathTestOptions) throw new UsageError(`${modulePath} does not export \`pathTestOptions\`.`);
  const entry = loaded.pathTestOptions[name];
  if (!entry) return [];
  return Array.isArray(entry) ? [...entry] : [entry as PathTestOptions];
}
