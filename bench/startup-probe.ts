/**
 * One embedded start, in a process of its own (what a user's `tollgate dev` or app pays): createTollgate on a PGlite
 * directory, then migrate; prints the times as JSON. Used by bench/startup.ts.
 */
import { performance } from 'node:perf_hooks';
import { machines } from '../machines/index.ts';
import { createTollgate } from '../src/index.ts';
import { pgliteClient } from '../src/store/drivers/pglite.ts';
import { migrate } from '../src/store/migrate.ts';

const [what, dataDir] = process.argv.slice(2) as ['runtime' | 'parts', string];
if (what === 'parts') {
  // The parts: opening the database (WASM start, plus initdb or the image's load when fresh), then the migrations.
  const t0 = performance.now();
  const client = await pgliteClient({ dataDir });
  const t1 = performance.now();
  await migrate(client, 'tollgate');
  const t2 = performance.now();
  await client.close();
  console.log(JSON.stringify({ open: t1 - t0, migrate: t2 - t1 }));
} else {
  const t0 = performance.now();
  const tg = await createTollgate({ machines, database: { dataDir } });
  await tg.migrate();
  const t1 = performance.now();
  await tg.close();
  console.log(JSON.stringify({ total: t1 - t0 }));
}
