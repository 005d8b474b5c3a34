import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';

/**
 * A fresh PGlite database spends most of its start-up in `initdb` (about 70% of a fresh start: it builds the
 * catalogs and template databases in WASM). Every fresh cluster of one PGlite release is the same, so tollgate
 * starts a fresh one from a dump of an empty cluster (`dumpDataDir`, loaded with `loadDataDir`) instead: shipped
 * in the package (`dist/pglite-base-<release>.tar.gz`, made by the build), else cached per user
 * (`$TOLLGATE_CACHE_DIR`, or `$XDG_CACHE_HOME/tollgate`, or `~/.cache/tollgate`), made by the first fresh start
 * that finds neither. The image is named after the PGlite release, so another release never loads it.
 * `TOLLGATE_PGLITE_BASE=off` turns this off (every fresh start runs initdb).
 */
export interface PgliteBaseImage {
  /** The image's bytes (a gzipped tar of an empty cluster), or undefined when there is none yet. */
  read(): Blob | undefined;
  /** Saves a fresh cluster's dump as this release's image, for the next fresh start; failures are ignored. */
  save(db: PGlite): Promise<void>;
  /** Drops an image that failed to load. */
  discard(): void;
}

const require = createRequire(import.meta.url);

/** The PGlite release installed beside tollgate. */
export function pgliteRelease(): string {
  // The package's exports do not list package.json: walk up from its entry point.
  let dir = dirname(require.resolve('@electric-sql/pglite'));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The image's file name for the installed release. */
export function pgliteBaseFileName(release = pgliteRelease()): string {
  return `pglite-base-${release}.tar.gz`;
}

function cacheDir(): string {
  const env = process.env;
  if (env.TOLLGATE_CACHE_DIR) return env.TOLLGATE_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tollgate');
}

/** The base image for fresh embedded databases (see PgliteBaseImage). */
export function pgliteBaseImage(): PgliteBaseImage {
  const off = process.env.TOLLGATE_PGLITE_BASE === 'off';
  const name = pgliteBaseFileName();
  // dist/src/store/drivers -> dist/ in the package; the build writes the image there.
  const shipped = fileURLToPath(new URL(`../../../${name}`, import.meta.url));
  const cached = join(cacheDir(), name);
  return {
    read() {
      if (off) return undefined;
      for (const path of [shipped, cached]) {
        try {
          return new Blob([readFileSync(path)]);
        } catch {
          // Not there: the next place.
        }
      }
      return undefined;
    },
    async save(db) {
      if (off || existsSync(shipped) || existsSync(cached)) return;
      try {
        const dump = Buffer.from(await (await db.dumpDataDir('gzip')).arrayBuffer());
        mkdirSync(dirname(cached), { recursive: true });
        // Written aside and renamed: a concurrent start reads a whole image or none.
        const aside = `${cached}.${process.pid}.tmp`;
        writeFileSync(aside, dump);
        renameSync(aside, cached);
      } catch {
        // A read-only home or a full disk: fresh starts stay as slow as before, nothing else changes.
      }
    },
    discard() {
      rmSync(cached, { force: true });
    },
  };
}
