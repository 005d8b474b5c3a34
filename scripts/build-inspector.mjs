// `npm run build:inspector`: bundles the inspector page (ui/inspector: Preact + elkjs) into
// src/http/inspector-assets/ (app.js, app.css), which the server serves at /inspector and the package ships.
// The output is committed; test/http/inspector-assets.test.ts fails when it is older than the sources.
import { build } from 'esbuild';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const at = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning' };

/** The two bundles; `write: false` returns their text instead (the freshness test compares it to the files). */
export async function buildInspector(write = true) {
  const script = await build({
    ...common,
    write,
    entryPoints: [at('ui/inspector/main.tsx')],
    outfile: at('src/http/inspector-assets/app.js'),
    format: 'esm',
    target: 'es2020',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const style = await build({ ...common, write, entryPoints: [at('ui/inspector/styles.css')], outfile: at('src/http/inspector-assets/app.css') });
  return [...(script.outputFiles ?? []), ...(style.outputFiles ?? [])].map((f) => ({ path: f.path, text: f.text }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildInspector();
