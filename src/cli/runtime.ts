import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MachineRegistry } from '../engine/definition.ts';
import { createTollgate, type Tollgate } from '../index.ts';
import type { PolicyVersions } from '../policy/policies.ts';
import type { DatabaseOptions } from '../runtime/options.ts';
import { UsageError } from './args.ts';

/** Flags every command that opens the database shares. */
export const databaseFlags = {
  'database-url': { type: 'string' },
  'data-dir': { type: 'string' },
  schema: { type: 'string' },
  machines: { type: 'string' },
} as const;

export const databaseFlagsHelp = `  --database-url URL  Postgres (default: $DATABASE_URL)
  --data-dir DIR      embedded PGlite directory, when no Postgres URL is given
  --schema NAME       Postgres schema of tollgate's tables (default: $TOLLGATE_SCHEMA or tollgate)
  --machines MODULE   module exporting \`machines\` (and, optionally, \`policies\`; default: machines/index.ts)`;

export interface DatabaseFlags {
  readonly 'database-url'?: string;
  readonly 'data-dir'?: string;
  readonly schema?: string;
  readonly machines?: string;
}

/** Postgres from --database-url / DATABASE_URL, else the embedded directory (`embeddedDefault`), else a usage error. */
export function databaseOf(flags: DatabaseFlags, embeddedDefault?: string): DatabaseOptions {
  const url = flags['database-url'] ?? process.env.DATABASE_URL;
  if (url) return { url };
  const dataDir = flags['data-dir'] ?? embeddedDefault;
  if (dataDir) return { dataDir };
  throw new UsageError('no database: set DATABASE_URL (or --database-url), or pass --data-dir for an embedded one.');
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

/** The machines exported as `machines` by `modulePath` (default: the repository's machines/index.ts). */
export async function loadMachines(modulePath?: string): Promise<MachineRegistry> {
  return (await loadMachineModule(modulePath)).machines;
}

/** The `machines` and, if it exports them, the policy versions (`policies`) of `modulePath`. */
export async function loadMachineModule(modulePath?: string): Promise<{ machines: MachineRegistry; policies?: PolicyVersions }> {
  const url = modulePath ? pathToFileURL(isAbsolute(modulePath) ? modulePath : resolve(modulePath)).href : new URL('../../machines/index.ts', import.meta.url).href;
  const loaded = (await import(url)) as { machines?: MachineRegistry; policies?: PolicyVersions };
  if (!loaded.machines) throw new UsageError(`${modulePath ?? 'machines/index.ts'} does not export \`machines\`.`);
  return { machines: loaded.machines, ...(loaded.policies ? { policies: loaded.policies } : {}) };
}

/** Opens a runtime over the database the flags name and checks the database answers (exit 3 if not). */
export async function openRuntime(flags: DatabaseFlags, embeddedDefault?: string): Promise<{ tg: Tollgate; database: DatabaseOptions }> {
  const database = databaseOf(flags, embeddedDefault);
  const { machines, policies } = await loadMachineModule(flags.machines);
  const schema = flags.schema ?? process.env.TOLLGATE_SCHEMA;
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
