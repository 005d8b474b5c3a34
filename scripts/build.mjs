// `npm run build` (and `npm pack`, through prepack): compiles src/ and workers/ to dist/ (JavaScript,
// declarations, declaration maps) and copies beside them what the code reads at run time: every file under src/
// and workers/ that is not TypeScript (assets), and the migrations (dist/drizzle, where ../../drizzle from
// dist/src/store finds them), then writes the embedded database's base image (below).
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { URL } from 'node:url';

const root = new URL('../', import.meta.url);
const at = (path) => new URL(path, root);
rmSync(at('dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
const notTypeScript = (path) => !/\.[cm]?tsx?$/.test(path);
for (const dir of ['src', 'workers']) cpSync(at(dir), at(`dist/${dir}`), { recursive: true, filter: notTypeScript });
cpSync(at('drizzle'), at('dist/drizzle'), { recursive: true });

// The embedded database's base image (src/store/drivers/pglite-base.ts): a dump of an empty PGlite cluster, so a
// fresh embedded database in the user's app loads it instead of running initdb (most of a fresh start). Named
// after the PGlite release it was made with; another release ignores it.
const { PGlite } = await import('@electric-sql/pglite');
const pgliteDir = new URL('../node_modules/@electric-sql/pglite/', import.meta.url);
const { version: pgliteVersion } = JSON.parse(readFileSync(new URL('package.json', pgliteDir), 'utf8'));
const empty = await PGlite.create();
const image = Buffer.from(await (await empty.dumpDataDir('gzip')).arrayBuffer());
await empty.close();
writeFileSync(at(`dist/pglite-base-${pgliteVersion}.tar.gz`), image);
