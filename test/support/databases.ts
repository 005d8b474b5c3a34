import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, inject } from 'vitest';
import { createTollgate, type Tollgate } from '../../src/index.ts';
import type { TollgateOptions } from '../../src/runtime/options.ts';
import type { MachineRegistry } from '../../src/engine/definition.ts';

/** The backends the runtime suite runs on: Postgres (when reachable) and embedded PGlite. */
export type Backend = 'postgres' | 'pglite';

export function backends(): Backend[] {
  return inject('postgresUrl') ? ['postgres', 'pglite'] : ['pglite'];
}

export function postgresAvailable(): boolean {
  return inject('postgresUrl') !== '';
}

let fileDatabase: Promise<string> | undefined;
const runtimes: Array<Tollgate<MachineRegistry>> = [];

/**
 * A database of this test file's own on the shared Postgres (created on first use, dropped after the file).
 * Each runtime then gets a schema of its own in it, so tests never see each other's rows.
 */
export function testDatabaseUrl(): Promise<string> {
  fileDatabase ??= (async () => {
    const admin = inject('postgresUrl');
    if (!admin) throw new Error('Postgres is not reachable (see test/support/global-setup.ts)');
    const name = `tg_test_${randomBytes(6).toString('hex')}`;
    const sql = postgres(admin, { max: 1, onnotice: () => {} });
    await sql.unsafe(`CREATE DATABASE ${name}`);
    await sql.end();
    const url = new URL(admin);
    url.pathname = `/${name}`;
    afterAllDrop.push(async () => {
      const drop = postgres(admin, { max: 1, onnotice: () => {} });
      await drop.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await drop.end();
    });
    return url.toString();
  })();
  return fileDatabase;
}

const afterAllDrop: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(runtimes.splice(0).map((tg) => tg.close()));
  for (const drop of afterAllDrop.splice(0)) await drop();
});

let schemaCounter = 0;

/** A migrated runtime on `backend` with a fresh schema (Postgres) or a fresh in-memory database (PGlite). */
export async function testRuntime<R extends MachineRegistry>(
  backend: Backend,
  options: Omit<TollgateOptions<R>, 'database'> & { maxConnections?: number },
): Promise<Tollgate<R>> {
  const { maxConnections, ...rest } = options;
  const database =
    backend === 'postgres' ? { url: await testDatabaseUrl(), maxConnections: maxConnections ?? 10 } : { dataDir: 'memory://' };
  const schema = backend === 'postgres' ? `t${process.pid}_${++schemaCounter}` : undefined;
  const tg = await createTollgate<R>({ ...rest, database, schema: rest.schema ?? schema });
  await tg.migrate();
  runtimes.push(tg as unknown as Tollgate<MachineRegistry>);
  return tg;
}
