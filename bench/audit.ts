/**
 * `tollgate audit` throughput on real Postgres (issue target: at least 5,000 entities/s of replay).
 *
 * Seeds BENCH_TEMPLATES subscriptions through the gate with varied histories (trial only; upgraded; paused and
 * resumed; dunned and recovered; renewed), then copies them in SQL (with the triggers off in that session) up to
 * BENCH_ENTITIES entities, with their transitions, effects and timers. Then, BENCH_RUNS times (default 3), rotating
 * the order:
 *   - baseline, read only: the histories read by recordedEntities (src/replay/) and nothing else: the I/O floor;
 *   - baseline, replay in memory: the same histories (read once beforehand) replayed and compared, no I/O;
 *   - audit --full: `tg.governance.audit({ full: true })`, everything: read, replay, checks, checkpoints, set queries;
 *   - audit, incremental, nothing changed; and with 1% of the entities sent one more event.
 * Medians of the runs, with the machine's CPU busy share and the load average before and after: the machine is
 * shared with other engineers' work, so the absolute numbers move with it; read the rows against each other.
 * Run: npx tsx bench/audit.ts. Env: BENCH_ENTITIES (default 20000), BENCH_TEMPLATES (default 200), BENCH_RUNS.
 */
import os from 'node:os';
import postgres from 'postgres';
import { machines } from '../machines/index.ts';
import { auditEntity } from '../src/audit/audit-entity.ts';
import { createTollgate } from '../src/index.ts';
import { recordedEntities } from '../src/replay/recorded-history.ts';
import type { RecordedEntity } from '../src/replay/recorded.ts';
import { backendCpuSeconds, busyBetween, cpuReading, cpuSecondsBetween, measure, median, percent, printTable, scratchDatabase } from './support.ts';
import { testAccess } from '../src/runtime/test-access.ts';

const entities = Number(process.env.BENCH_ENTITIES ?? 20_000);
const templates = Number(process.env.BENCH_TEMPLATES ?? 200);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(', ');

const histories: Array<Array<Record<string, unknown> & { type: string }>> = [
  [],
  [{ type: 'UPGRADE', paymentMethodId: 'pm' }],
  [{ type: 'UPGRADE', paymentMethodId: 'pm' }, { type: 'PAUSE' }, { type: 'RESUME' }, { type: 'PAYMENT_SUCCEEDED', chargeId: 'ch' }],
  [{ type: 'UPGRADE', paymentMethodId: 'pm' }, { type: 'PAYMENT_FAILED' }, { type: 'PAYMENT_SUCCEEDED', chargeId: 'ch' }],
  [{ type: 'UPGRADE', paymentMethodId: 'pm' }, { type: 'RENEW' }, { type: 'RENEW' }, { type: 'CANCEL' }],
];

async function main(): Promise<void> {
  console.log(`load average before: ${load()} (${os.cpus().length} CPUs, shared)`);
  const db = await scratchDatabase('tg_bench_audit');
  try {
    const tg = await createTollgate({ machines, database: { url: db.url, maxConnections: 8 } });
    await tg.migrate();
    await measure(templates, 8, async (i) => {
      await tg.create('subscription', `t${i}`, { customerId: `c${i}`, plan: 'pro' });
      for (const event of histories[i % histories.length]!) await tg.send('subscription', `t${i}`, event as never);
    });
    await copyTemplates(db.url);
    const [{ transitions }] = (await testAccess(tg).client.query<{ transitions: number }>(`SELECT count(*)::int AS transitions FROM tollgate.transitions`)) as [{ transitions: number }];
    console.log(`${entities.toLocaleString('en-US')} subscriptions, ${transitions.toLocaleString('en-US')} transitions (${(transitions / entities).toFixed(2)} per entity)`);

    const readAll = async (): Promise<RecordedEntity[]> => {
      const all: RecordedEntity[] = [];
      for await (const batch of recordedEntities(testAccess(tg).client, 'tollgate', { machine: 'subscription', batchSize: 500, rejections: false, stepSnapshots: 'rebase-points' })) all.push(...batch);
      return all;
    };
    const recorded = await readAll();
    // Entities still open, to send one more event each (CANCEL) in the "1% changed" rows: a fresh slice per run.
    const open = recorded.filter((e) => e.current?.state !== 'canceled').map((e) => e.id);
    let changedSoFar = 0;
    const sides: Record<string, () => Promise<{ n: number; ms?: number; extra?: string }>> = {
      'baseline: read only': async () => ({ n: (await readAll()).length }),
      'baseline: replay in memory': async () => {
        let drift = 0;
        for (const entity of recorded) drift += auditEntity(machines.subscription, entity).findings.length;
        return { n: recorded.length, extra: `${drift} findings` };
      },
      'audit --full': async () => {
        const report = await tg.governance.audit({ full: true });
        return { n: report.audited, extra: `${report.entities.length} drifted` };
      },
      'audit, nothing changed': async () => {
        const report = await tg.governance.audit();
        return { n: entities, extra: `${report.audited} replayed` };
      },
      'audit, 1% changed': async () => {
        const ids = open.slice(changedSoFar, changedSoFar + entities / 100);
        changedSoFar += ids.length;
        await measure(ids.length, 8, (i) => tg.send('subscription', ids[i]!, { type: 'CANCEL' }));
        const started = performance.now();
        const report = await tg.governance.audit();
        return { n: entities, ms: performance.now() - started, extra: `${report.audited} replayed` };
      },
    };
    const monitor = postgres(db.url, { max: 1, onnotice: () => {} });
    const results = new Map<string, Array<{ perSec: number; ms: number; busy: number; nodeUs: number; pgUs: number; extra?: string }>>(Object.keys(sides).map((k) => [k, []]));
    const names = Object.keys(sides);
    for (let run = 0; run < runs; run++) {
      // The incremental rows need a checkpoint: audit --full runs before them; the baselines rotate around it.
      const order = run % 2 === 0 ? names : [names[1]!, names[0]!, ...names.slice(2)];
      for (const name of order) {
        const before = cpuReading();
        const nodeBefore = process.cpuUsage();
        const pgBefore = await backendCpuSeconds(monitor, db.name);
        const started = performance.now();
        const out = await sides[name]!();
        const ms = out.ms ?? performance.now() - started;
        const node = process.cpuUsage(nodeBefore);
        const pg = cpuSecondsBetween(pgBefore, await backendCpuSeconds(monitor, db.name));
        results.get(name)!.push({
          perSec: (out.n * 1000) / ms,
          ms,
          busy: busyBetween(before, cpuReading()),
          nodeUs: (node.user + node.system) / out.n,
          pgUs: (pg * 1e6) / out.n,
          ...(out.extra ? { extra: out.extra } : {}),
        });
      }
    }
    await monitor.end();
    await tg.close();
    console.log(`\n## tollgate audit of ${entities.toLocaleString('en-US')} subscriptions (${runs} runs, medians; entities/s counts every entity in scope)`);
    printTable(
        ['side', 'entities/s', 'ms', 'each run entities/s', 'Node CPU µs/entity', 'Postgres CPU µs/entity', 'machine CPU busy', 'note (last run)'],
      names.map((name) => {
        const r = results.get(name)!;
        const m = (f: (x: (typeof r)[number]) => number) => median(r.map(f));
        return [name, m((x) => x.perSec).toFixed(0), m((x) => x.ms).toFixed(0), r.map((x) => x.perSec.toFixed(0)).join(', '), m((x) => x.nodeUs).toFixed(0), m((x) => x.pgUs).toFixed(0), percent(m((x) => x.busy)), r.at(-1)?.extra ?? ''];
      }),
    );
    const full = results.get('audit --full')!;
    const nodeUs = median(full.map((x) => x.nodeUs));
    const pgUs = median(full.map((x) => x.pgUs));
    console.log(
      `audit --full: ${median(full.map((x) => x.perSec)).toFixed(0)} entities/s measured (target >= 5000); its CPU per entity: ${nodeUs.toFixed(0)} µs of Node, ` +
        `${pgUs.toFixed(0)} µs of Postgres, so about ${(1e6 / Math.max(nodeUs, pgUs)).toFixed(0)} entities/s with a core each to itself. Load average after: ${load()}`,
    );
  } finally {
    await db.drop();
  }
}

/** Copies the template entities (and their rows) until there are `entities`, ids `t<n>-c<copy>`, triggers off. */
async function copyTemplates(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const copies = Math.ceil(entities / templates);
  await sql.begin(async (tx) => {
    await tx.unsafe(`SET LOCAL session_replication_role = replica`);
    await tx.unsafe(`CREATE TEMP TABLE copies ON COMMIT DROP AS
      SELECT c, t.id AS template FROM generate_series(0, ${copies - 1}) c, tollgate.entities t
      ORDER BY c, t.id LIMIT ${entities}`);
    const id = `t.id || '-c' || copies.c`;
    const tid = (column: string) => `md5(${column}::text || '-' || copies.c)::uuid`;
    await tx.unsafe(`INSERT INTO tollgate.transitions (id, machine, entity_id, seq, event_type, event, from_state, to_state, snapshot, state_entered_at, idempotency_key, fingerprint, machine_version, policy_version, actor, created_at)
      SELECT ${tid('t.id')}, t.machine, t.entity_id || '-c' || copies.c, t.seq, t.event_type, t.event, t.from_state, t.to_state, t.snapshot, t.state_entered_at, t.idempotency_key, t.fingerprint, t.machine_version, t.policy_version, t.actor, t.created_at
      FROM tollgate.transitions t JOIN copies ON copies.template = t.entity_id`);
    await tx.unsafe(`INSERT INTO tollgate.effects (id, transition_id, machine, entity_id, seq, idx, type, params, status, created_at)
      SELECT t.id || '-c' || copies.c, ${tid('t.transition_id')}, t.machine, t.entity_id || '-c' || copies.c, t.seq, t.idx, t.type, t.params, t.status, t.created_at
      FROM tollgate.effects t JOIN copies ON copies.template = t.entity_id`);
    await tx.unsafe(`INSERT INTO tollgate.timers (id, machine, entity_id, transition_id, send_id, event, due_at, status, created_at, armed_at, settled_at)
      SELECT t.id || '-c' || copies.c, t.machine, t.entity_id || '-c' || copies.c, ${tid('t.transition_id')}, t.send_id, t.event, t.due_at, t.status, t.created_at, t.armed_at, t.settled_at
      FROM tollgate.timers t JOIN copies ON copies.template = t.entity_id`);
    await tx.unsafe(`INSERT INTO tollgate.entities (machine, id, machine_version, snapshot, state, version, state_entered_at, created_at, updated_at)
      SELECT t.machine, ${id}, t.machine_version, t.snapshot, t.state, t.version, t.state_entered_at, t.created_at, t.updated_at
      FROM tollgate.entities t JOIN copies ON copies.template = t.id`);
    // The templates themselves go: every entity is a copy, so the counts are exact.
    for (const table of ['effects', 'timers', 'transitions']) await tx.unsafe(`DELETE FROM tollgate.${table} WHERE entity_id NOT LIKE '%-c%'`);
    await tx.unsafe(`DELETE FROM tollgate.entities WHERE id NOT LIKE '%-c%'`);
  });
  await sql.unsafe('ANALYZE');
  await sql.end();
}

await main();
