/**
 * tollgate against the alternatives a team would pick instead: Restate (server + `@restatedev/xstate`) and DBOS
 * Transact (4.24, Postgres data source), on the same subscription lifecycle, the same Postgres server and the same
 * client concurrency (BENCH_PEERS_LEVELS, default 1,8,32,64): create, UPGRADE (one charge effect, whose handler
 * records its idempotency key at a provider table and answers PAYMENT_SUCCEEDED), CANCEL (one email effect). The
 * event accepted and its effect run, end to end, on every system. Printed: events/s, p50/p99 of "event
 * accepted", of "accepted -> handler started" and of "accepted -> follow-up committed", CPU seconds per 1,000
 * events of each system's own processes and Postgres backends, the ratio tollgate/peer, and what each does with
 * every request delivered twice (one charge per entity) and with an illegal event. Systems rotate, BENCH_PEERS_RUNS
 * runs (default 3) of BENCH_PEERS_SECONDS (default 8) per level; medians; machine CPU busy and load average.
 *
 * The peers' packages are large and only this bench needs them: they live in bench/peers/package.json with its own
 * lock file and are installed here on first use (`npm ci --prefix bench/peers --ignore-scripts`: none of them needs an install script). Restate's SDK needs
 * `Promise.withResolvers` (Node 22): bench/peers/with-resolvers.mjs is loaded with `--import` on older Node.
 *
 * Run: `npm run bench:peers` (about 8 minutes; `-- --quick` for a short one). Needs Postgres
 * (BENCH_DATABASE_URL) with about 80 free connection slots (BENCH_PEERS_POOL, default 24 per system's own pool; the
 * bench checks before it starts) and redis-server on the path. Ctrl-C stops the systems and drops the scratch
 * databases.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('./peers/', import.meta.url));
if (!existsSync(`${dir}node_modules/@restatedev/restate-sdk/package.json`) || !existsSync(`${dir}node_modules/@dbos-inc/dbos-sdk/package.json`)) {
  console.error('bench/peers: installing Restate and DBOS (npm ci --prefix bench/peers)');
  const installed = spawnSync('npm', ['ci', '--prefix', dir, '--no-audit', '--no-fund', '--ignore-scripts'], { stdio: 'inherit' });
  if (installed.status !== 0) process.exit(installed.status ?? 1);
}
const child = spawn(process.execPath, ['--import', `${dir}with-resolvers.mjs`, '--import', 'tsx', `${dir}main.ts`, ...process.argv.slice(2)], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
