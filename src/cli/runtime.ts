import { setTimeout as sleep } from 'node:timers/promises';
import type { MachineRegistry } from '../engine/definition.ts';
import { isTollgateError } from '../errors.ts';
import type { PolicyVersions } from '../policy/policies.ts';
import { createTollgate, type Tollgate } from '../runtime/create-tollgate.ts';
import type { DatabaseOptions } from '../runtime/options.ts';
import { UsageError } from './args.ts';
import { appConfig, machinesOfModule, noMachinesHelp } from './config-file.ts';
import { isUnreachable } from './exit.ts';
import { portsOf } from '../runtime/ports.ts';

/** Flags every command that opens the database shares. */
export const databaseFlags = {
  'database-url': { type: 'string' },
  'data-dir': { type: 'string' },
  schema: { type: 'string' },
  machines: { type: 'string' },
} as const;

export const databaseFlagsHelp = `  --database-url URL  Postgres (default: $DATABASE_URL)
  --data-dir DIR      embedded PGlite directory, when no Postgres URL is given
  --schema NAME       Postgres schema of tollgate's tables (default: $TOLLGATE_SCHEMA, the config's, or tollgate)
  --machines MODULE   module exporting \`machines\` (and, optionally, \`policies\`; default: the config's)
  --config FILE       the app's config (default: ./tollgate.config.ts, .mts, .js, .mjs or .json)`;

/** The start-up wait of serve, worker and relay, for their help. */
export const startWaitHelp = `At start, a database that cannot be reached is tried again for up to $TOLLGATE_START_WAIT_SECONDS
(default 120; 0 fails at once, exit 3).`;

export interface DatabaseFlags {
  readonly 'database-url'?: string;
  readonly 'data-dir'?: string;
  readonly schema?: string;
  readonly machines?: string;
}

/**
 * Postgres from --database-url / DATABASE_URL, else --data-dir, else the config's database, else the embedded
 * directory (`embeddedDefault`), else a usage error.
 */
export function databaseOf(flags: DatabaseFlags, embeddedDefault?: string, configured?: DatabaseOptions): DatabaseOptions {
  const url = flags['database-url'] ?? process.env.DATABASE_URL;
  if (url) return { url };
  if (flags['data-dir']) return { dataDir: flags['data-dir'] };
  if (configured) return configured;
  if (embeddedDefault) return { dataDir: embeddedDefault };
  throw new UsageError('no database: set DATABASE_URL (or --database-url), pass --data-dir for an embedded one, or set `database` in tollgate.config.ts.');
}

/** Describes the database for the start-up line, without the password. */
export function describeDatabase(database: DatabaseOptions): string {
  if ('dataDir' in database) return `embedded PGlite at ${database.dataDir}`;
  try {
    const url = new URL(database.url);
    url.password = url.password ? '***' : '';
    return `Postgres ${url.host}${url.pathname}`;
  } catch {
    return 'Postgres';
  }
}

/**
 * The machines: exported as `machines` by `modulePath` (--machines), else the config's, else a usage error that
 * says how to provide them (never a silent fallback to other machines).
 */
export async function loadMachines(modulePath?: string): Promise<MachineRegistry> {
  return (await loadMachineModule(modulePath)).machines;
}

/**
 * The machines and, if given, their policy versions (`policies`): exported by `modulePath` (--machines), else the
 * config's (`machines` and `policies`, or the module its `machines` names).
 */
export async function loadMachineModule(modulePath?: string): Promise<{ machines: MachineRegistry; policies?: PolicyVersions }> {
  if (modulePath) return machinesOfModule(modulePath);
  const loaded = await appConfig();
  if (!loaded) throw new UsageError(noMachinesHelp);
  const { machines, policies } = loaded.config;
  const found = typeof machines === 'string' ? await machinesOfModule(machines, loaded.dir) : { machines };
  return { ...found, ...(policies ? { policies } : {}) };
}

/** How long a long-running command (serve, worker, relay) waits for Postgres at start: $TOLLGATE_START_WAIT_SECONDS. */
export function startWaitMs(): number {
  const raw = process.env.TOLLGATE_START_WAIT_SECONDS;
  if (raw === undefined || raw === '') return 120_000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) throw new UsageError(`TOLLGATE_START_WAIT_SECONDS must be a number of seconds >= 0, not '${raw}'.`);
  return seconds * 1000;
}

/**
 * openRuntime for a long-running process: while Postgres cannot be reached (down, restarting, in crash recovery),
 * it tries again every 1 s to 5 s for up to `waitMs`, saying so once, instead of exiting at once; a process started
 * beside a database that is still coming up (a deploy, a restart of both, a failover) then simply starts. After
 * `waitMs`, or on any other error, it fails as openRuntime does (exit 3 when unreachable).
 */
export async function openRuntimeWaiting(
  flags: DatabaseFlags,
  name: string,
  waitMs: number,
  say: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<{ tg: Tollgate; database: DatabaseOptions }> {
  const until = Date.now() + waitMs;
  let pause = 1000;
  let said = false;
  for (;;) {
    try {
      const opened = await openRuntime(flags);
      if (said) say(`tollgate ${name}: the database answers; starting`);
      return opened;
    } catch (error) {
      const unavailable = isTollgateError(error, 'TG_DATABASE_UNAVAILABLE') || isUnreachable(error);
      if (!unavailable || Date.now() + pause > until) throw error;
      if (!said) say(`tollgate ${name}: the database cannot be reached (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); trying again for up to ${Math.round(waitMs / 1000)} s`);
      said = true;
      await sleep(pause);
      pause = Math.min(pause * 2, 5000);
    }
  }
}

/** Opens a runtime over the database the flags name and checks the database answers (exit 3 if not). */
export async function openRuntime(flags: DatabaseFlags, embeddedDefault?: string): Promise<{ tg: Tollgate; database: DatabaseOptions }> {
  const config = (await appConfig())?.config;
  const database = databaseOf(flags, embeddedDefault, config?.database);
  const { machines, policies } = await loadMachineModule(flags.machines);
  const schema = flags.schema ?? process.env.TOLLGATE_SCHEMA ?? config?.schema;
  // After rolling back a release that raised a machine's version (docs/effects.md, Rolling deploys).
  const acceptNewerMachineVersions = ['1', 'true'].includes(process.env.TOLLGATE_ACCEPT_NEWER_MACHINE_VERSIONS ?? '');
  const tg = await createTollgate({ machines, database, ...(policies ? { policies } : {}), ...(schema ? { schema } : {}), ...(acceptNewerMachineVersions ? { acceptNewerMachineVersions } : {}) });
  try {
    await portsOf(tg).ping();
  } catch (error) {
    await tg.close().catch(() => {});
    throw error;
  }
  return { tg, database };
}
