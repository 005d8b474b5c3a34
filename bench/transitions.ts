/**
 * send() throughput and latency on real Postgres, beside the seed's own hand-written transaction at the same
 * concurrency on the same server (the baseline):
 *   BEGIN; UPDATE subscriptions SET state, version = version + 1 WHERE id AND state AND version; INSERT outbox; COMMIT
 * tollgate does more per event (XState evaluation, history row with the snapshot, idempotency key, effect row)
 * in one statement; the ratio column is tollgate / baseline. Run: npm run bench (or npx tsx bench/transitions.ts).
 * Env: BENCH_ENTITIES (default 10000), BENCH_OPS (per level, default 4000), BENCH_LEVELS (default 1,8,32,64).
 */
import os from 'node:os';
import postgres from 'postgres';
import { createTollgate } from '../src/index.ts';
import { machines } from '../machines/index.ts';
import { busyBetween, cpuReading, measure, median, percent, printTable, scratchDatabase } from './support.ts';

const entities = Number(process.env.BENCH_ENTITIES ?? 10_000);
const opsPerLevel = Number(process.env.BENCH_OPS ?? 4_000);
const levels = (process.env.BENCH_LEVELS ?? '1,8,32,64').split(',').map(Number);
/** Which parts run: `levels` (tollgate beside the seed's transaction), `plans` (a deployment as its tables fill). */
const parts = new Set((process.env.BENCH_PARTS ?? 'levels,plans').split(','));
const runs = Number(process.env.BENCH_RUNS ?? 3);

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
  `);
  await sql.unsafe(`INSERT INTO seed_subscriptions SELECT 's' || g, 'active', 2 FROM generate_series(0, ${entities - 1}) g`);
  await sql.end();
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

async function main(): Promise<void> {
  if (parts.has('plans')) await planStability();
  if (!parts.has('levels')) return;
  const db = await scratchDatabase('tg_bench');
  try {
    console.log(`# bench/transitions: ${entities} entities, ${opsPerLevel} sends per level, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'})`);
    await seedBaseline(db.url);
    const rows: Array<Array<string | number>> = [];
    for (const concurrency of levels) {
      const pool = Math.min(concurrency, 32);
      // Fresh runtime per level so the pool matches the load; seeding warms its snapshot cache.
      const tg = concurrency === levels[0] ? await seedTollgate(db.url) : await createTollgate({ machines, database: { url: db.url, maxConnections: pool }, snapshotCacheSize: entities });
      if (concurrency !== levels[0]) await measure(entities, 32, (i) => tg.get('subscription', `s${i}`)); // warm the cache
      let key = 0;
      const ours = await measure(opsPerLevel, concurrency, (i) =>
        tg.send('subscription', `s${(i * 7919) % entities}`, { type: 'RENEW' }, { idempotencyKey: `c${concurrency}-${key++}` }),
      );
      await tg.close();

      const sql = postgres(db.url, { max: pool, onnotice: () => {} });
      const versions = new Map<string, number>();
      const base = await measure(opsPerLevel, concurrency, async (i) => {
        const id = `s${(i * 7919) % entities}`;
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
      });
      await sql.end();
      rows.push([
        concurrency,
        ours.opsPerSec.toFixed(0),
        ours.p50.toFixed(2),
        ours.p99.toFixed(2),
        base.opsPerSec.toFixed(0),
        base.p50.toFixed(2),
        base.p99.toFixed(2),
        (ours.opsPerSec / base.opsPerSec).toFixed(2),
        ours.errors + base.errors,
      ]);
    }
    printTable(
      ['concurrency', 'tollgate send/s', 'p50 ms', 'p99 ms', 'baseline tx/s', 'p50 ms', 'p99 ms', 'ratio (tollgate/baseline)', 'errors'],
      rows,
    );
  } finally {
    await db.drop();
  }
}

await main();
