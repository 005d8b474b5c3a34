import { existsSync } from 'node:fs';
import { UsageError, wantsHelp } from './args.ts';
import { useConfigFile } from './config-file.ts';
import { exitCodes, report } from './exit.ts';

/** What every command file in commands/ exports. */
export interface Command {
  /** Usage and flags, printed by `tollgate <command> --help`. */
  readonly help: string;
  /** Runs the command; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

// One line per command for `tollgate --help`; the command's own file holds its full help.
const commands: Readonly<Record<string, string>> = {
  init: 'scaffold an app: config, an example machine, its effect handlers and a path test',
  dev: 'the whole service in one process: embedded PGlite, API, relay, workers and timers',
  serve: 'the HTTP API (production: DATABASE_URL, API keys)',
  worker: 'the background processes: effect and event workers, relay and timers (DATABASE_URL, REDIS_URL)',
  relay: 'the outbox relay and the timers only (DATABASE_URL, REDIS_URL)',
  migrate: 'apply database migrations',
  machines: 'list the registered machines with their versions',
  create: 'create an entity through the API',
  send: 'send an event to an entity through the API',
  get: 'show an entity through the API',
  history: "show an entity's transitions and effects as a timeline",
  diagram: 'print a machine as a Mermaid stateDiagram-v2',
  demo: 'run the traffic simulation and print its integrity summary',
  keys: 'make API keys and their hashed entries',
  consumers: 'lifecycle-feed consumers (webhooks, NATS JetStream): add, list, pause, resume, rewind, remove, redeliver',
  'test-paths': 'generate and run path tests for a machine',
  policy: "list machines' policy versions, or switch the active one (recorded)",
  freeze: "freeze a machine's events for every process",
  unfreeze: 'lift a freeze',
  freezes: 'list freezes',
  override: "repair an entity's state outside the gate, audited (the database checks the move)",
  audit: 'find drift: replay histories and check snapshots, effects and timers (exit 1 on drift)',
  entities: 'migrate the entities of older machine versions (entities migrate <machine>)',
  import: 'import live entities from NDJSON, each in its state, with its timers (resumable, idempotent)',
  discover: "draft a machine and a report from a legacy system's transition log",
  observe: "shadow mode: report a legacy system's transitions (NDJSON) to be judged and mirrored",
  mode: "list machines' modes, or switch one between shadow and enforce (recorded)",
  'shadow-report': 'illegal and diverged legacy transitions seen in shadow mode, grouped, with counts and examples',
  'deploy-check': "before a deploy: check every live entity has a path into a release's machines",
  replay: "replay recorded histories through a release's machines and report changed business outcomes",
  stats: "a machine's fleet per state; --by-version compares machine versions (canary)",
};

// `.ts` from the sources (the repository, tests), `.js` from the package's build.
const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';

/** Commands whose file exists (test-paths comes with tollgate/testing). */
export function availableCommands(): string[] {
  return Object.keys(commands).filter((name) => existsSync(new URL(`./commands/${name}.${extension}`, import.meta.url)));
}

export function usage(): string {
  const names = availableCommands();
  const width = Math.max(...names.map((n) => n.length));
  return [
    'Usage: tollgate <command> [arguments] [--help]',
    '',
    'Commands:',
    ...names.map((name) => `  ${name.padEnd(width)}  ${commands[name]}`),
    '',
    'Every command reads the app\'s tollgate.config.ts (or .mts, .js, .mjs, .json) in the working directory;',
    '--config FILE names another. Flags and environment variables override it.',
    '',
    'Exit codes: 0 ok, 1 a coded rejection, 2 usage, 3 a service cannot be reached.',
  ].join('\n');
}

/** Runs `tollgate <argv...>`; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let args: string[];
  try {
    args = takeConfigFlag(argv);
  } catch (error) {
    return report(error);
  }
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  if (!availableCommands().includes(name)) {
    return report(new UsageError(`unknown command '${name}'. Commands: ${availableCommands().join(', ')} (tollgate --help).`));
  }
  try {
    const command = (await import(`./commands/${name}.${extension}`)) as Command;
    if (wantsHelp(rest)) {
      process.stdout.write(`${command.help.trimEnd()}\n`);
      return exitCodes.ok;
    }
    return await command.run(rest);
  } catch (error) {
    return report(error);
  }
}

/** Takes `--config FILE` (or `--config=FILE`) out of the arguments, for every command, and remembers it. */
function takeConfigFlag(argv: string[]): string[] {
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '--config') {
      file = argv[++i];
      if (file === undefined || file.startsWith('-')) throw new UsageError('--config needs a file: --config ./tollgate.config.ts');
    } else if (arg.startsWith('--config=')) file = arg.slice('--config='.length);
    else rest.push(arg);
  }
  useConfigFile(file);
  return rest;
}
