/**
 * `npm run bench:startup`: embedded start-up (createTollgate + migrate on PGlite), each in a new process as a user
 * pays it, for a fresh data directory started from the base image (src/store/drivers/pglite-base.ts), a fresh one
 * initialised by initdb (TOLLGATE_PGLITE_BASE=off: the baseline, what every fresh start cost before), and an
 * existing one. Runs alternate between the kinds; each figure is the median of `--runs` (3). The parts row says
 * what the time is made of. The machine's CPU busy share over the whole run is printed: other work inflates it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busyBetween, cpuReading, median, percent, printTable } from './support.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 3) || 3;
const probe = fileURLToPath(new URL('./startup-probe.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'tollgate-startup-'));
const cache = join(root, 'cache');

function start(what: 'runtime' | 'parts', dataDir: string, env: Record<string, string> = {}): Record<string, number> {
  const out = execFileSync(process.execPath, ['--import', 'tsx', probe, what, dataDir], {
    env: { ...process.env, TOLLGATE_CACHE_DIR: cache, ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1) as string) as Record<string, number>;
}

// Warm-up: one fresh start makes the cached image (as the first fresh start on a machine without a packaged one
// does) and warms the file cache for every kind alike.
start('runtime', join(root, 'warm'));
const existingDir = join(root, 'existing');
start('runtime', existingDir);

const kinds = {
  'fresh, from the base image': (i: number) => start('runtime', join(root, `image-${i}`)),
  'fresh, initdb (baseline)': (i: number) => start('runtime', join(root, `initdb-${i}`), { TOLLGATE_PGLITE_BASE: 'off' }),
  existing: () => start('runtime', existingDir),
};
const parts = {
  'fresh, from the base image': (i: number) => start('parts', join(root, `pimage-${i}`)),
  'fresh, initdb (baseline)': (i: number) => start('parts', join(root, `pinitdb-${i}`), { TOLLGATE_PGLITE_BASE: 'off' }),
  existing: () => start('parts', existingDir),
};
const totals = new Map<string, number[]>();
const opens = new Map<string, number[]>();
const migrates = new Map<string, number[]>();
const before = cpuReading();
for (let i = 0; i < runs; i++) {
  for (const [name, run] of Object.entries(kinds)) totals.set(name, [...(totals.get(name) ?? []), run(i).total as number]);
  for (const [name, run] of Object.entries(parts)) {
    const p = run(i);
    opens.set(name, [...(opens.get(name) ?? []), p.open as number]);
    migrates.set(name, [...(migrates.get(name) ?? []), p.migrate as number]);
  }
}
const busy = busyBetween(before, cpuReading());
rmSync(root, { recursive: true, force: true });

const baseline = median(totals.get('fresh, initdb (baseline)') ?? []);
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
console.log(`embedded start-up, median of ${runs} (alternated), ${cpus().length} cores, CPU busy ${percent(busy)}, load ${loadavg()[0]?.toFixed(1)}`);
printTable(
  ['start', 'createTollgate + migrate', 'vs initdb', 'of which: open the database', 'migrations'],
  Object.keys(kinds).map((name) => {
    const total = median(totals.get(name) ?? []);
    return [name, s(total), `${(total / baseline).toFixed(2)}x`, s(median(opens.get(name) ?? [])), s(median(migrates.get(name) ?? []))];
  }),
);
