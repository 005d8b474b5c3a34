import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
// @ts-expect-error -- a plain ES module script without declarations
import { buildInspector } from '../../scripts/build-inspector.mjs';

it('ships the inspector page built from ui/inspector as committed (npm run build:inspector rebuilds it)', async () => {
  const built = (await buildInspector(false)) as Array<{ path: string; text: string }>;
  expect(built.map((f) => f.path.split('/').pop())).toEqual(['app.js', 'app.css']);
  for (const file of built) expect(readFileSync(file.path, 'utf8') === file.text, `${file.path} is stale: run npm run build:inspector`).toBe(true);
});
