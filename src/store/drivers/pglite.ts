import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlTransaction } from '../sql-client.ts';
import { lockDataDir } from '../data-dir-lock.ts';

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
    db = await PGlite.create();
  } else {
    mkdirSync(options.dataDir, { recursive: true });
    release = lockDataDir(options.dataDir);
    try {
      db = await PGlite.create({ dataDir: join(options.dataDir, 'pgdata') });
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
