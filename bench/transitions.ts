/**
 * send() throughput and latency on real Postgres, in two parts (BENCH_PARTS, default `levels,plans`):
 *
 * `levels`: at each concurrency, three sides on the same server and data, each warmed with the same number of
 * operations on the pool it is measured on, then BENCH_RUNS runs (default 3) with the sides' order rotating;
 * the table gives medians, the machine's CPU busy share, and per operation the CPU of this process and of the
 * database's backends.
 *   - tollgate: send(RENEW) with an idempotency key (XState evaluation; one statement writing the entity, the
 *     history row with its snapshot, the effect row).
 *   - seed: the seed's own hand-written transaction through postgres.js, four round trips:
 *     BEGIN; UPDATE subscriptions SET state, version = version + 1 WHERE id AND state AND version; INSERT outbox; COMMIT
 *   - pgbench: the same transaction plus a history INSERT, from Postgres's own C client with prepared statements
 *     (installed from postgresql-contrib when missing and running as root; the columns stay empty otherwise).
 * `plans`: a new deployment as its tables fill (see planStability).
 *
 * The machine's CPUs are shared with whatever else runs: read the ratios, printed beside CPU busy, not the
 * absolute rates. Run: npx tsx bench/transitions.ts (part of npm run bench). Env: BENCH_ENTITIES (default 10000),
 * BENCH_OPS (per run, default 10000), BENCH_LEVELS (default 1,8,32,64), BENCH_RUNS (default 3), BENCH_PARTS.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { createTollgate } from '../src/index.ts';
import { machines } from '../machines/index.ts';
import { backendCpuSeconds, busyBetween, connectionSlots, cpuReading, cpuSecondsBetween, measure, median, percent, percentile, printRow, printTable, scratchDatabase } from './support.ts';

const entities = Number(process.env.BENCH_ENTITIES ?? 10_000);
const opsPerLevel = Number(process.env.BENCH_OPS ?? 10_000);
const levels = (process.env.BENCH_LEVELS ?? '1,8,32,64').split(',').map(Number);
/**
 * Which parts run: `levels` (tollgate beside the seed's transaction), `plans` (a deployment as its tables fill),
 * `triggers` (the gate with the legality trigger on entities beside the same gate with it disabled), `counts` (the
 * gate moving entities between states, with the state-count triggers on, off, and replaced by counter rows).
 */
const parts = new Set((process.env.BENCH_PARTS ?? 'levels,plans,triggers,counts').split(','));
const runs = Number(process.env.BENCH_RUNS ?? 3);

/** One side of a level: warmed once, then measured `runs` times, alternating with the others. */
interface Side {
  readonly name: string;
  run(ops: number): Promise<Measured>;
  close(): Promise<void>;
}

interface Measured {
  readonly opsPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

/** The entity a send of operation `i` goes to: spread over all of them, the same sequence on every side. */
const entityOf = (i: number) => `s${(i * 7919) % entities}`;

/** A migrated runtime whose BENCH_ENTITIES subscriptions are created and upgraded (its cache holds them all). */
async function seedTollgate(url: string) {
  const tg = await createTollgate({ machines, database: { url, maxConnections: 32 }, snapshotCacheSize: entities });
  await tg.migrate();
  await measure(entities, 32, async (i) => {
    await tg.create('subscription', `s${i}`, { customerId: `c${i}`, plan: 'pro' });
    await tg.send('subscription', `s${i}`, { type: 'UPGRADE', paymentMethodId: 'pm' });
  });
  return tg;
}

async function seedBaseline(url: string) {
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  await sql.unsafe(`
    CREATE TABLE seed_subscriptions (id text PRIMARY KEY, state text NOT NULL, version int NOT NULL);
    CREATE TABLE seed_outbox (id bigserial PRIMARY KEY, subscription_id text NOT NULL, type text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE seed_history (id bigserial PRIMARY KEY, subscription_id text NOT NULL, event_type text NOT NULL, event jsonb NOT NULL, from_state text, to_state text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
  `);
  await sql.unsafe(`INSERT INTO seed_subscriptions SELECT 's' || g, 'active', 2 FROM generate_series(0, ${entities - 1}) g`);
  await sql`ANALYZE`;
  await sql.end();
}

/** tollgate's send() with an idempotency key, its snapshot cache warmed with every entity. */
async function tollgateSide(url: string, concurrency: number): Promise<Side> {
  const tg = await createTollgate({ machines, database: { url, maxConnections: Math.min(concurrency, 32) }, snapshotCacheSize: entities });
  await measure(entities, Math.min(concurrency, 32), (i) => tg.get('subscription', `s${i}`));
  let key = 0;
  return {
    name: 'tollgate',
    run: (ops) => measure(ops, concurrency, (i) => tg.send('subscription', entityOf(i), { type: 'RENEW' }, { idempotencyKey: `c${concurrency}-${key++}` })),
    close: () => tg.close(),
  };
}

/**
 * The seed's hand-written transaction through postgres.js (four round trips: BEGIN, UPDATE under the version
 * check, INSERT of the outbox row, COMMIT), the versions it last wrote kept in memory as the gate's cache does.
 */
async function seedSide(url: string, concurrency: number): Promise<Side> {
  const sql = postgres(url, { max: Math.min(concurrency, 32), onnotice: () => {} });
  const versions = new Map<string, number>();
  for (const row of await sql<Array<{ id: string; version: number }>>`SELECT id, version FROM seed_subscriptions`) versions.set(row.id, row.version);
  const one = async (i: number) => {
    const id = entityOf(i);
    for (;;) {
      const version = versions.get(id) ?? 2;
      const updated = await sql.begin(async (tx) => {
        const r = await tx`UPDATE seed_subscriptions SET state = 'active', version = version + 1 WHERE id = ${id} AND state = 'active' AND version = ${version}`;
        if (r.count === 1) await tx`INSERT INTO seed_outbox (subscription_id, type, payload) VALUES (${id}, 'chargePayment', ${sql.json({ customerId: id, amountCents: 2900 })})`;
        return r.count;
      });
      if (updated === 1) {
        versions.set(id, version + 1);
        return;
      }
      const [row] = await sql`SELECT version FROM seed_subscriptions WHERE id = ${id}`;
      versions.set(id, (row?.version as number | undefined) ?? version);
    }
  };
  return { name: 'seed', run: (ops) => measure(ops, concurrency, one), close: () => sql.end() };
}

/**
 * Whether the server has room for pgbench's `concurrency` connections beside the two Node sides' pools, which stay
 * open through the level (up to 32 each, and the runtime's 4 for batch statements). If not, says so: pgbench would
 * fail to connect part of its clients and report a rate for fewer of them.
 */
async function pgbenchFits(monitor: postgres.Sql, concurrency: number): Promise<boolean> {
  const slots = await connectionSlots(monitor);
  const needed = 2 * Math.min(concurrency, 32) + 4 + concurrency;
  const free = slots.max - slots.used;
  if (free >= needed) return true;
  console.log(`pgbench left out at concurrency ${concurrency}: it and the two Node sides need ${needed} connections, the server has ${free} free (max_connections ${slots.max}; raise it to run this level).`);
  return false;
}

/** pgbench (Postgres's own C client, prepared statements): the seed's transaction plus a history row. */
const pgbenchScript = `\\set n random(0, ${entities - 1})
BEGIN;
UPDATE seed_subscriptions SET state = 'active', version = version + 1 WHERE id = 's' || :n AND state = 'active';
INSERT INTO seed_outbox (subscription_id, type, payload) VALUES ('s' || :n, 'chargePayment', '{"customerId": "c", "amountCents": 2900}');
INSERT INTO seed_history (subscription_id, event_type, event, from_state, to_state) VALUES ('s' || :n, 'RENEW', '{"type": "RENEW"}', 'active', 'active');
COMMIT;
`;

/** pgbench on the path, installed from Debian's postgresql-contrib when missing and this runs as root. */
function findPgbench(): string | undefined {
  const which = () => spawnSync('sh', ['-c', 'command -v pgbench'], { encoding: 'utf8' }).stdout.trim() || undefined;
  const found = which();
  if (found || process.getuid?.() !== 0) return found;
  console.error('pgbench is missing: installing postgresql-contrib');
  spawnSync('sh', ['-c', 'apt-get install -y postgresql-contrib >/dev/null 2>&1'], { stdio: 'inherit' });
  return which();
}

function pgbenchSide(url: string, concurrency: number, binary: string): Side {
  const dir = mkdtempSync(join(tmpdir(), 'tg-pgbench-'));
  const script = join(dir, 'seed.sql');
  writeFileSync(script, pgbenchScript);
  const u = new URL(url);
  const args = ['-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username || 'postgres'), '-n', '-M', 'prepared', '-f', script, '-c', String(concurrency), '-j', String(Math.min(concurrency, os.cpus().length))];
  return {
    name: 'pgbench',
    async run(ops) {
      for (const f of readdirSync(dir)) if (f.startsWith('log')) rmSync(join(dir, f));
      const perClient = Math.ceil(ops / concurrency);
      const out = spawnSync(binary, [...args, '-t', String(perClient), '-l', '--log-prefix', join(dir, 'log'), u.pathname.slice(1)], { encoding: 'utf8' });
      const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out.stdout)?.[1] ?? NaN);
      const failed = Number(/number of failed transactions: (\d+)/.exec(out.stdout)?.[1] ?? 0);
      if (out.status !== 0) console.error(out.stderr);
      // Per-transaction log lines: client, transaction, latency in microseconds, ...
      const latencies = readdirSync(dir)
        .filter((f) => f.startsWith('log'))
        .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((line) => Number(line.split(' ')[2]) / 1000))
        .sort((a, b) => a - b);
      return { opsPerSec: tps, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors: failed + (out.status === 0 ? 0 : 1) };
    },
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The server's WAL insert position in bytes: the difference over a run is the WAL its commits wrote. */
async function walPosition(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<Array<{ lsn: string }>>`SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::text AS lsn`;
  return Number(row?.lsn ?? 0);
}

/**
 * tollgate, the seed's transaction and pgbench at each concurrency: each side warmed with the same number of
 * operations, then BENCH_RUNS measured runs with the sides' order rotating, medians per side.
 */
async function levelsPart(): Promise<void> {
  const db = await scratchDatabase('tg_bench');
  try {
    const pgbench = findPgbench();
    console.log(`\n## tollgate beside the seed's transaction: ${entities} entities, ${opsPerLevel} operations per run, ${runs} runs per level (order rotating, medians), ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'})`);
    if (!pgbench) console.log('pgbench not found (Debian: apt-get install postgresql-contrib): its columns are empty.');
    await seedBaseline(db.url);
    await (await seedTollgate(db.url)).close();
    const monitor = postgres(db.url, { max: 1, onnotice: () => {} });
    // BENCH_SYNCHRONOUS_COMMIT=off: every side's commits stop waiting for the WAL flush (an attribution run: how much
    // of a gap is the flush of more WAL, not CPU). Set on the database, so pgbench's sessions take it too.
    const syncCommit = process.env.BENCH_SYNCHRONOUS_COMMIT;
    if (syncCommit) {
      await monitor.unsafe(`ALTER DATABASE ${db.name} SET synchronous_commit TO ${syncCommit === 'off' ? 'off' : 'on'}`);
      console.log(`synchronous_commit = ${syncCommit === 'off' ? 'off' : 'on'} for every side (BENCH_SYNCHRONOUS_COMMIT)`);
    }
    // Each level's row is printed as it completes (a full run takes a while).
    printTable(
      ['concurrency', 'tollgate send/s', 'p50 ms', 'p99 ms', 'seed tx/s', 'p50 ms', 'p99 ms', 'tollgate / seed', 'pgbench tx/s (+history)', 'p50 ms', 'p99 ms', 'tollgate / pgbench', 'each run / seed median', 'Node CPU µs/op tollgate / seed', 'Postgres CPU µs/op tollgate / seed', 'WAL bytes/op tollgate / seed / pgbench', 'machine CPU busy', 'errors'],
      [],
    );
    for (const concurrency of levels) {
      const withPgbench = pgbench !== undefined && (await pgbenchFits(monitor, concurrency));
      const sides = [await tollgateSide(db.url, concurrency), await seedSide(db.url, concurrency), ...(withPgbench ? [pgbenchSide(db.url, concurrency, pgbench)] : [])];
      const warmup = Math.max(concurrency * 20, Math.floor(opsPerLevel / 10));
      for (const side of sides) await side.run(warmup);
      const results = new Map<string, Array<Measured & { busy: number; nodeUs: number; postgresUs: number; walBytes: number }>>(sides.map((side) => [side.name, []]));
      for (let run = 0; run < runs; run++) {
        for (let k = 0; k < sides.length; k++) {
          const side = sides[(run + k) % sides.length]!;
          const before = { machine: cpuReading(), node: process.cpuUsage(), postgres: await backendCpuSeconds(monitor, db.name), wal: await walPosition(monitor) };
          const m = await side.run(opsPerLevel);
          const node = process.cpuUsage(before.node);
          // Per operation, in microseconds: this process (the sides that run in it) and the database's backends
          // (pgbench's connect and leave within the run, so its server share is not read).
          const nodeUs = side.name === 'pgbench' ? NaN : (node.user + node.system) / opsPerLevel;
          const postgresUs = side.name === 'pgbench' ? NaN : (cpuSecondsBetween(before.postgres, await backendCpuSeconds(monitor, db.name)) * 1e6) / opsPerLevel;
          const walBytes = (await walPosition(monitor)) - before.wal;
          results.get(side.name)!.push({ ...m, busy: busyBetween(before.machine, cpuReading()), nodeUs, postgresUs, walBytes: walBytes / opsPerLevel });
        }
      }
      for (const side of sides) await side.close();
      const med = (name: string, f: (m: Measured & { busy: number; nodeUs: number; postgresUs: number; walBytes: number }) => number) => median((results.get(name) ?? []).map(f));
      const rate = (name: string) => med(name, (m) => m.opsPerSec);
      const cell = (name: string) => (results.has(name) ? [rate(name).toFixed(0), med(name, (m) => m.p50).toFixed(2), med(name, (m) => m.p99).toFixed(2)] : ['', '', '']);
      const allBusy = [...results.values()].flat().map((m) => m.busy);
      printRow([
        concurrency,
        ...cell('tollgate'),
        ...cell('seed'),
        (rate('tollgate') / rate('seed')).toFixed(2),
        ...cell('pgbench'),
        results.has('pgbench') ? (rate('tollgate') / rate('pgbench')).toFixed(2) : '',
        (results.get('tollgate') ?? []).map((m) => (m.opsPerSec / rate('seed')).toFixed(2)).join(', '),
        `${med('tollgate', (m) => m.nodeUs).toFixed(0)} / ${med('seed', (m) => m.nodeUs).toFixed(0)}`,
        `${med('tollgate', (m) => m.postgresUs).toFixed(0)} / ${med('seed', (m) => m.postgresUs).toFixed(0)}`,
        ['tollgate', 'seed', 'pgbench'].map((name) => (results.has(name) ? med(name, (m) => m.walBytes).toFixed(0) : '-')).join(' / '),
        percent(median(allBusy)),
        [...results.values()].flat().reduce((n, m) => n + m.errors, 0),
      ]);
    }
    await monitor.end();
  } finally {
    await db.drop();
  }
}

/**
 * A new deployment as its tables fill: ONE runtime started on an empty, freshly migrated database creates
 * BENCH_ENTITIES subscriptions and then sends RENEW at concurrency 32, never restarted (its connections keep the
 * plans they prepared while the tables were empty), beside a runtime started fresh on the filled database. The
 * two alternate, BENCH_RUNS times; the ratio of the medians must stay near 1 (the issue's target: at least 0.9).
 */
async function planStability(): Promise<void> {
  const db = await scratchDatabase('tg_bench_plans');
  const start = () => createTollgate({ machines, database: { url: db.url, maxConnections: 32 }, snapshotCacheSize: entities });
  try {
    const grown = await start();
    await grown.migrate();
    // As an HTTP client with retries does: every request carries an idempotency key.
    await measure(entities, 32, async (i) => {
      await grown.create('subscription', `s${i}`, { customerId: `c${i}`, plan: 'pro' }, { idempotencyKey: `create-${i}` });
      await grown.send('subscription', `s${i}`, { type: 'UPGRADE', paymentMethodId: 'pm' }, { idempotencyKey: `upgrade-${i}` });
    });
    let key = 0;
    const renew = (tg: Awaited<ReturnType<typeof start>>) =>
      measure(opsPerLevel, 32, (i) => tg.send('subscription', `s${(i * 7919) % entities}`, { type: 'RENEW' }, { idempotencyKey: `p-${key++}` }));
    const results: Record<'grown' | 'fresh', Array<{ opsPerSec: number; p99: number; busy: number }>> = { grown: [], fresh: [] };
    for (let run = 0; run < runs; run++) {
      // Alternating which goes first, so a drift in what else the machine runs falls on both.
      for (const which of run % 2 === 0 ? (['grown', 'fresh'] as const) : (['fresh', 'grown'] as const)) {
        const tg = which === 'grown' ? grown : await start();
        if (which === 'fresh') await measure(entities, 32, (i) => tg.get('subscription', `s${i}`)); // warm its cache as seeding warmed the other's
        const before = cpuReading();
        const m = await renew(tg);
        results[which].push({ ...m, busy: busyBetween(before, cpuReading()) });
        if (which === 'fresh') await tg.close();
      }
    }
    await grown.close();
    const stats = postgres(db.url, { max: 1, onnotice: () => {} });
    const scans = await stats<Array<{ index: string; scans: number; read: number }>>`
      SELECT indexrelname AS index, idx_scan::int AS scans, idx_tup_read::float8 AS read FROM pg_stat_user_indexes WHERE relname = 'transitions' ORDER BY 1`;
    await stats.end();
    console.log(`index use on transitions: ${scans.map((r) => `${r.index} ${r.scans} scans, ${r.read} entries read`).join('; ')}`);
    const row = (which: 'grown' | 'fresh') => {
      const r = results[which];
      return [which === 'grown' ? 'one runtime since the empty database' : 'fresh runtime on the filled database', median(r.map((x) => x.opsPerSec)).toFixed(0), median(r.map((x) => x.p99)).toFixed(2), r.map((x) => x.opsPerSec.toFixed(0)).join(', '), percent(median(r.map((x) => x.busy)))];
    };
    console.log(`\n## Plan stability: ${entities} subscriptions created through one runtime from an empty database, then RENEW at 32 (${opsPerLevel} per run, ${runs} runs alternating, medians)`);
    printTable(['runtime', 'send/s', 'p99 ms', 'each run send/s', 'machine CPU busy'], [row('grown'), row('fresh')]);
    const ratio = median(results.grown.map((x) => x.opsPerSec)) / median(results.fresh.map((x) => x.opsPerSec));
    console.log(`ratio (one runtime since empty / fresh runtime): ${ratio.toFixed(2)} (target >= 0.9)`);
  } finally {
    await db.drop();
  }
}

/**
 * What the trigger that refuses writers other than the gate costs the gate (store/legality-sql.ts): RENEW at
 * concurrency 32 on one runtime, alternating runs with the trigger enabled and disabled (`ALTER TABLE ... DISABLE
 * TRIGGER`), BENCH_RUNS each; medians. Target: at most 5% fewer sends per second.
 */
async function triggerCost(): Promise<void> {
  const db = await scratchDatabase('tg_bench_triggers');
  try {
    await seedTollgate(db.url);
    const tg = await createTollgate({ machines, database: { url: db.url, maxConnections: 32 }, snapshotCacheSize: entities });
    await measure(entities, 32, (i) => tg.get('subscription', `s${i}`)); // warm the cache as the other parts do
    const admin = postgres(db.url, { max: 1, onnotice: () => {} });
    let key = 0;
    const results: Record<'on' | 'off', Array<{ opsPerSec: number; p99: number; busy: number }>> = { on: [], off: [] };
    for (let run = 0; run < runs; run++) {
      for (const which of run % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        await admin.unsafe(`ALTER TABLE tollgate.entities ${which === 'on' ? 'ENABLE' : 'DISABLE'} TRIGGER entities_guard`);
        const before = cpuReading();
        const m = await measure(opsPerLevel, 32, (i) => tg.send('subscription', `s${(i * 7919) % entities}`, { type: 'RENEW' }, { idempotencyKey: `t-${key++}` }));
        results[which].push({ ...m, busy: busyBetween(before, cpuReading()) });
      }
    }
    await admin.unsafe(`ALTER TABLE tollgate.entities ENABLE TRIGGER entities_guard`);
    await admin.end();
    await tg.close();
    const row = (which: 'on' | 'off') => {
      const r = results[which];
      return [which === 'on' ? 'legality trigger on' : 'trigger disabled', median(r.map((x) => x.opsPerSec)).toFixed(0), median(r.map((x) => x.p99)).toFixed(2), r.map((x) => x.opsPerSec.toFixed(0)).join(', '), percent(median(r.map((x) => x.busy)))];
    };
    console.log(`\n## Legality trigger: RENEW at 32 on ${entities} subscriptions (${opsPerLevel} per run, ${runs} runs alternating, medians)`);
    printTable(['gate', 'send/s', 'p99 ms', 'each run send/s', 'machine CPU busy'], [row('on'), row('off')]);
    const ratio = median(results.on.map((x) => x.opsPerSec)) / median(results.off.map((x) => x.opsPerSec));
    console.log(`ratio (trigger on / off): ${ratio.toFixed(3)} (target >= 0.95)`);
  } finally {
    await db.drop();
  }
}

/**
 * What keeping the per-state counts costs the gate (migration 0011, store/state-counts.ts), on a workload where
 * every send moves its entity (active -PAUSE-> paused.idle -RESUME-> paused.resuming -PAYMENT_SUCCEEDED-> active,
 * at concurrency 32, each run one event per entity), alternating three sides, BENCH_RUNS each, medians:
 * - `signed moves` (shipped): the row trigger appends a -1 and a +1 row to `state_count_deltas`;
 * - `no counts`: that trigger disabled;
 * - `counter rows`: the design it replaced, the same trigger upserting the two `state_counts` rows themselves
 *   (sorted, so two commits cannot deadlock): every commit into or out of a state then waits for the one before.
 */
async function countCost(): Promise<void> {
  const db = await scratchDatabase('tg_bench_counts');
  try {
    await (await seedTollgate(db.url)).close();
    const tg = await createTollgate({ machines, database: { url: db.url, maxConnections: 32 }, snapshotCacheSize: entities });
    await measure(entities, 32, (i) => tg.get('subscription', `s${i}`));
    const admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`
      CREATE FUNCTION tollgate.bench_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO tollgate.state_counts (machine, state, n)
        SELECT m, st, d FROM (VALUES (OLD.machine, OLD.state, -1), (NEW.machine, NEW.state, 1)) AS v(m, st, d) ORDER BY m, st
        ON CONFLICT (machine, state) DO UPDATE SET n = tollgate.state_counts.n + excluded.n;
        RETURN NULL;
      END $$;
      CREATE TRIGGER bench_count_rows AFTER UPDATE OF machine, state ON tollgate.entities
        FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION tollgate.bench_count_rows();
    `);
    type Which = 'signed moves' | 'no counts' | 'counter rows';
    const sides: Which[] = ['signed moves', 'no counts', 'counter rows'];
    const use = async (which: Which) => {
      await admin.unsafe(`ALTER TABLE tollgate.entities ${which === 'signed moves' ? 'ENABLE' : 'DISABLE'} TRIGGER entities_count_moved`);
      await admin.unsafe(`ALTER TABLE tollgate.entities ${which === 'counter rows' ? 'ENABLE' : 'DISABLE'} TRIGGER bench_count_rows`);
    };
    const cycle = [{ type: 'PAUSE' }, { type: 'RESUME' }, { type: 'PAYMENT_SUCCEEDED' }] as const;
    let done = 0;
    const results = new Map<Which, Array<Measured & { busy: number }>>(sides.map((w) => [w, []]));
    for (let run = 0; run < runs; run++) {
      for (let k = 0; k < sides.length; k++) {
        const which = sides[(run + k) % sides.length]!;
        await use(which);
        const before = cpuReading();
        const base = done;
        const m = await measure(entities, 32, (i) =>
          tg.send('subscription', `s${(base + i) % entities}`, cycle[Math.floor((base + i) / entities) % cycle.length]!),
        );
        done += entities;
        results.get(which)!.push({ ...m, busy: busyBetween(before, cpuReading()) });
      }
    }
    await use('signed moves');
    await admin.end();
    await tg.close();
    console.log(`\n## State counts: every send moves its entity, at 32 on ${entities} subscriptions (${entities} per run, ${runs} runs rotating, medians)`);
    printTable(
      ['counts kept by', 'send/s', 'p99 ms', 'each run send/s', 'errors', 'machine CPU busy'],
      sides.map((which) => {
        const r = results.get(which)!;
        return [which, median(r.map((x) => x.opsPerSec)).toFixed(0), median(r.map((x) => x.p99)).toFixed(2), r.map((x) => x.opsPerSec.toFixed(0)).join(', '), r.reduce((a, x) => a + x.errors, 0), percent(median(r.map((x) => x.busy)))];
      }),
    );
    const rate = (which: Which) => median(results.get(which)!.map((x) => x.opsPerSec));
    console.log(`ratio (signed moves / no counts): ${(rate('signed moves') / rate('no counts')).toFixed(3)}; (counter rows / no counts): ${(rate('counter rows') / rate('no counts')).toFixed(3)}`);
  } finally {
    await db.drop();
  }
}

async function main(): Promise<void> {
  if (parts.has('counts')) await countCost();
  if (parts.has('triggers')) await triggerCost();
  if (parts.has('plans')) await planStability();
  if (parts.has('levels')) await levelsPart();
}

await main();
