// `npm run build` (and `npm pack`, through prepack): compiles src/ and workers/ to dist/ (JavaScript,
// declarations, declaration maps) and copies beside them what the code reads at run time: every file under src/
// and workers/ that is not TypeScript (assets), and the migrations (dist/drizzle, where ../../drizzle from
// dist/src/store finds them).
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
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
