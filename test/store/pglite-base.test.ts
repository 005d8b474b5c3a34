import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgliteClient } from '../../src/store/drivers/pglite.ts';
import { pgliteBaseFileName } from '../../src/store/drivers/pglite-base.ts';

// A fresh embedded database starts from the base image of an empty cluster (pglite-base.ts) instead of initdb.
// Each case points the cache at a directory of its own; none of them ships an image (the repository runs from
// sources: there is no dist/ image beside src/).
const saved = { cache: process.env.TOLLGATE_CACHE_DIR, base: process.env.TOLLGATE_PGLITE_BASE };
let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tollgate-pglite-base-'));
  delete process.env.TOLLGATE_PGLITE_BASE;
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  if (saved.cache === undefined) delete process.env.TOLLGATE_CACHE_DIR;
  else process.env.TOLLGATE_CACHE_DIR = saved.cache;
  if (saved.base !== undefined) process.env.TOLLGATE_PGLITE_BASE = saved.base;
});

function cacheAt(name: string): string {
  const dir = join(root, name);
  process.env.TOLLGATE_CACHE_DIR = dir;
  return dir;
}

/** An image whose cluster holds a table no initdb makes: a database that has it was loaded from the image. */
let marked: Buffer | undefined;
async function markedImage(path: string): Promise<void> {
  if (!marked) {
    const db = await PGlite.create();
    await db.exec('CREATE TABLE public.from_the_image (x int)');
    marked = Buffer.from(await (await db.dumpDataDir('gzip')).arrayBuffer());
    await db.close();
  }
  writeFileSync(path, marked);
}

const hasMarker = async (client: Awaited<ReturnType<typeof pgliteClient>>) =>
  (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'from_the_image'`))[0]?.n === 1;

describe('the embedded database base image', () => {
  it('a fresh start with no image initialises the cluster and keeps its dump as the image for the next', async () => {
    const cache = cacheAt('first');
    const client = await pgliteClient({ dataDir: join(root, 'first-db') });
    await client.close();
    expect(readdirSync(cache)).toEqual([pgliteBaseFileName()]);
  }, 120_000);

  it('a fresh directory and an in-memory database start from the image; an existing directory does not', async () => {
    const cache = cacheAt('marked');
    mkdirSync(cache, { recursive: true });
    await markedImage(join(cache, pgliteBaseFileName()));
    const onDisk = await pgliteClient({ dataDir: join(root, 'marked-db') });
    expect(await hasMarker(onDisk)).toBe(true);
    await onDisk.exec('CREATE TABLE public.kept (x int)');
    await onDisk.close();
    const inMemory = await pgliteClient({ dataDir: 'memory://' });
    expect(await hasMarker(inMemory)).toBe(true);
    await inMemory.close();
    // Started again, the directory is its own cluster: what it wrote is there, nothing is loaded over it.
    const again = await pgliteClient({ dataDir: join(root, 'marked-db') });
    expect((await again.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'kept'`))[0]?.n).toBe(1);
    await again.close();
  }, 120_000);

  it('a damaged image is dropped and the start goes on the slow way; TOLLGATE_PGLITE_BASE=off never reads one', async () => {
    const cache = cacheAt('damaged');
    mkdirSync(cache, { recursive: true });
    const image = join(cache, pgliteBaseFileName());
    writeFileSync(image, 'not a tarball');
    const client = await pgliteClient({ dataDir: join(root, 'damaged-db') });
    expect((await client.query<{ one: number }>('SELECT 1 AS one'))[0]?.one).toBe(1);
    await client.close();
    // Replaced by the dump of the cluster that was initialised instead.
    expect(existsSync(image)).toBe(true);
    const replaced = await pgliteClient({ dataDir: 'memory://' });
    expect(await hasMarker(replaced)).toBe(false);
    await replaced.close();

    const marked = cacheAt('off');
    mkdirSync(marked, { recursive: true });
    await markedImage(join(marked, pgliteBaseFileName()));
    process.env.TOLLGATE_PGLITE_BASE = 'off';
    try {
      const plain = await pgliteClient({ dataDir: 'memory://' });
      expect(await hasMarker(plain)).toBe(false);
      await plain.close();
    } finally {
      delete process.env.TOLLGATE_PGLITE_BASE;
    }
  }, 180_000);
});
