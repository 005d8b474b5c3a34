// `npm run build:inspector`: bundles the inspector page (ui/inspector: Preact + elkjs) into
// src/http/inspector-assets/ (app.js, app.css), which the server serves at /inspector and the package ships.
// The output is committed; test/http/inspector-assets.test.ts fails when it is older than the sources.
import { build } from 'esbuild';
import { URL, fileURLToPath } from 'node:url';

const at = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning' };
await build({
  ...common,
  entryPoints: [at('ui/inspector/main.tsx')],
  outfile: at('src/http/inspector-assets/app.js'),
  format: 'esm',
  target: 'es2020',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  // elkjs' bundle probes for a Web Worker and node's require: neither is used here.
  define: { 'process.env.NODE_ENV': '"production"' },
});
await build({ ...common, entryPoints: [at('ui/inspector/styles.css')], outfile: at('src/http/inspector-assets/app.css') });
