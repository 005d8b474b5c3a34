import type { MachineRegistry } from '../engine/definition.ts';
import type { PolicyVersions } from '../policy/policies.ts';
import { createTollgate, type Tollgate } from '../runtime/create-tollgate.ts';
import type { DatabaseOptions } from '../runtime/options.ts';
import { UsageError } from './args.ts';
import { appConfig, machinesOfModule, noMachinesHelp } from './config-file.ts';

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
    await tg.internals.client.query('SELECT 1');
  } catch (error) {
    await tg.close().catch(() => {});
    throw error;
  }
  return { tg, database };
}
