import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse, UsageError } from '../args.ts';
import { scaffold } from '../scaffold.ts';

const usage = 'tollgate init [--dir DIR]';

export const help = `${usage}

Scaffolds a tollgate app in DIR (default: the working directory): tollgate.config.mjs, one example machine with
its contract table (machines/invoice.mjs, machines/index.mjs), its effect handlers (handlers.mjs) and a path test
(test/invoice.paths.test.mjs, run with \`node --test\`). Plain JavaScript modules: they run without a build step
or tsx. Refuses to overwrite: when any of these files exists, nothing is written.
Then: npx tollgate dev   (serves the app's machine on http://127.0.0.1:3000)
      node --test        (runs the path test)
  --dir DIR           where to write (default .)`;

export async function run(args: string[]): Promise<number> {
  const { flags } = parse(args, { dir: { type: 'string' } }, { min: 0, max: 0, usage });
  const root = resolve(flags.dir ?? '.');
  const files = Object.entries(scaffold).map(([path, text]) => ({ path: resolve(root, path), name: path, text }));
  const existing = files.filter((f) => existsSync(f.path)).map((f) => f.name);
  if (existing.length > 0) throw new UsageError(`init writes nothing: ${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''} in ${root}.`);
  for (const file of files) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.text, { flag: 'wx' });
  }
  process.stdout.write(
    [
      `tollgate init: wrote ${files.map((f) => f.name).join(', ')}`,
      '',
      'Next:',
      '  npx tollgate dev          the invoice machine on http://127.0.0.1:3000 (embedded database in ./.tollgate)',
      '  node --test               its path test',
      '',
    ].join('\n'),
  );
  return 0;
}
