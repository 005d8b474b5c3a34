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
import { measure, printTable, scratchDatabase } from './support.ts';

const entities = Number(process.env.BENCH_ENTITIES ?? 10_000);
const opsPerLevel = Number(process.env.BENCH_OPS ?? 4_000);
const levels = (process.env.BENCH_LEVELS ?? '1,8,32,64').split(',').map(Number);

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

async function main(): Promise<void> {
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
