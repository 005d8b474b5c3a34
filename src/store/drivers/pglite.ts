import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlTransaction } from '../sql-client.ts';
import { lockDataDir } from '../data-dir-lock.ts';
import { pgliteBaseImage } from './pglite-base.ts';

/** Options of the embedded driver. */
export interface PgliteDriverOptions {
  /** Directory that holds the database (`<dataDir>/pgdata`) and its lock file. `memory://` for a throw-away one. */
  readonly dataDir: string;
}

/**
 * The embedded database (PGlite, Postgres compiled to WASM). It is one connection, so every statement is
 * serialized; two processes on one directory would silently lose data, so the directory is locked first.
 */
export async function pgliteClient(options: PgliteDriverOptions): Promise<SqlClient> {
  const inMemory = options.dataDir.startsWith('memory://');
  let release: () => void = () => {};
  let db: PGlite;
  if (inMemory) {
    db = await openFresh(undefined);
  } else {
    mkdirSync(options.dataDir, { recursive: true });
    release = lockDataDir(options.dataDir);
    try {
      const pgdata = join(options.dataDir, 'pgdata');
      db = existsSync(join(pgdata, 'PG_VERSION')) ? await PGlite.create({ dataDir: pgdata }) : await openFresh(pgdata);
    } catch (error) {
      release();
      throw error;
    }
  }
  const runner = (q: Pick<PGlite, 'query'>): SqlTransaction => ({
    query: async <T extends object>(text: string, params: readonly unknown[] = []) =>
      (await q.query<T>(text, params as unknown[])).rows,
  });
  const base = runner(db);
  return {
    dialect: 'pglite',
    query: base.query,
    exec: async (text) => {
      await db.exec(text);
    },
    transaction: (fn) => db.transaction((tx) => fn(runner(tx))),
    listen: async (channel, onNotify) => {
      const unsubscribe = await db.listen(channel, onNotify);
      return unsubscribe;
    },
    close: async () => {
      try {
        await db.close();
      } finally {
        release();
      }
    },
  };
}

/**
 * A database with no cluster yet (in memory, or a directory never started): loaded from the base image of an empty
 * cluster when there is one (pglite-base.ts: skips initdb), else initialised, and its dump kept as the image.
 */
async function openFresh(pgdata: string | undefined): Promise<PGlite> {
  const image = pgliteBaseImage();
  const base = image.read();
  if (base) {
    try {
      return await PGlite.create({ ...(pgdata ? { dataDir: pgdata } : {}), loadDataDir: base });
    } catch {
      // A damaged image: drop it and start the slow way (a half-extracted directory held no data yet).
      image.discard();
      if (pgdata) rmSync(pgdata, { recursive: true, force: true });
    }
  }
  const db = await PGlite.create(pgdata ? { dataDir: pgdata } : {});
  await image.save(db);
  return db;
}
