/**
 * `npm run bench:inspector`: the inspector at scale. Builds one machine (subscription) with 1,000,000 entities
 * spread over its states (written straight into the table: the gate is not what is measured), and a baseline
 * machine (order) with 10,000, then times, alternating, medians of three:
 * - state counts (`tg.stateCounts`: the counts the triggers of migration 0011 maintain, store/state-counts.ts),
 *   the target being < 100 ms, beside the grouped scan of entities they replaced (what a count cost before);
 * - the inspector's whole stats read (`tg.machineStats`: counts, stuck over maxDwell, refusals, open effects);
 * - the entity list's first page (25) for a state, and for an id prefix (what the page reads on a click, a keystroke).
 * Prints CPU busy of the whole machine beside the timings: on a shared machine they are noisy.
 */
import { readFileSync } from 'node:fs';
import { machines } from '../machines/index.ts';
import { portsOf } from '../src/runtime/ports.ts';
import { createTollgate } from '../src/index.ts';
import { quoteIdent } from '../src/store/sql-client.ts';
import { printTable, scratchDatabase } from './support.ts';
import { testAccess } from '../src/runtime/test-access.ts';

const big = Number(process.env.BENCH_ENTITIES ?? 1_000_000);
const small = 10_000;

function cpu(): { idle: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { idle: (fields[3] ?? 0) + (fields[4] ?? 0), total: fields.reduce((a, b) => a + b, 0) };
}

const { url, drop } = await scratchDatabase('bench_inspector');
const tg = await createTollgate({ machines, database: { url, maxConnections: 4 } });
try {
  await tg.migrate();
  const s = quoteIdent(testAccess(tg).schema);
  const fill = async (machine: string, n: number, states: string[]) => {
    const t0 = performance.now();
    await testAccess(tg).client.query(
      `INSERT INTO ${s}.entities (machine, id, machine_version, snapshot, state, version, state_entered_at, created_at, updated_at)
       SELECT $1::text, 'e-' || g, 1, (SELECT snapshot FROM ${s}.entities WHERE machine = $1::text AND id = 'template'), (ARRAY(SELECT jsonb_array_elements_text($3::text::jsonb)))[1 + ((g::bigint * 7919) % $4::int)::int], 1,
              now() - make_interval(secs => (g % 100000)::float8), now(), now()
       -- Written as the gate writes (the legality trigger lets only the gate's statements touch lifecycle state).
       FROM generate_series(1, $2::int) AS g, (SELECT set_config('tollgate.gate', 'on', true)) AS gate`,
      [machine, n, JSON.stringify(states), states.length],
    );
    return performance.now() - t0;
  };
  // Every row gets a real snapshot (the list shows it): one the gate made for its machine.
  await tg.create('subscription', 'template', { customerId: 'c', plan: 'pro' });
  await tg.create('order', 'template', { orderId: 'o', customerId: 'c', amountCents: 100 });
  const subscriptionStates = ['trial', 'trial', 'trial', 'active', 'active', 'active', 'active', 'paused.idle', 'paused.resuming', 'grace', 'canceled'];
  const filled = await fill('subscription', big, subscriptionStates);
  await fill('order', small, ['pending', 'paid.invoicing.draft,paid.shipment.awaiting', 'completed', 'canceled']);
  await testAccess(tg).client.query(`VACUUM ANALYZE ${s}.entities`);
  console.log(`built ${big.toLocaleString('en')} subscription and ${small.toLocaleString('en')} order entities in ${(filled / 1000).toFixed(1)} s`);

  const time = async (op: () => Promise<unknown>) => {
    const t0 = performance.now();
    await op();
    return performance.now() - t0;
  };
  // What the counts cost before migration 0011: one grouped scan of the entities' `(machine, state, ...)` index.
  const scan = (machine: string) =>
    testAccess(tg).client.query(`SELECT state, count(*)::int AS n FROM ${s}.entities WHERE machine = $1::text GROUP BY state`, [machine]);
  const cases = [
    { name: `state counts, ${big.toLocaleString('en')} entities`, op: () => tg.stateCounts('subscription') },
    { name: `state counts, ${small.toLocaleString('en')} (baseline)`, op: () => tg.stateCounts('order') },
    { name: `scan of entities, ${big.toLocaleString('en')} entities`, op: () => scan('subscription') },
    { name: `scan of entities, ${small.toLocaleString('en')} (baseline)`, op: () => scan('order') },
    { name: `inspector stats, ${big.toLocaleString('en')} entities`, op: () => tg.machineStats('subscription') },
    { name: `inspector stats, ${small.toLocaleString('en')} (baseline)`, op: () => tg.machineStats('order') },
    // What clicking a state and typing in the filter read: the first page of 25.
    { name: `entities in a state, ${big.toLocaleString('en')} entities`, op: () => portsOf(tg).listEntities('subscription', { state: 'grace', limit: 25 }) },
    { name: `entities in a state, ${small.toLocaleString('en')} (baseline)`, op: () => portsOf(tg).listEntities('order', { state: 'completed', limit: 25 }) },
    { name: `entities by id prefix, ${big.toLocaleString('en')} entities`, op: () => portsOf(tg).listEntities('subscription', { limit: 25, idPrefix: 'e-99999' }) },
    { name: `entities by id prefix, ${small.toLocaleString('en')} (baseline)`, op: () => portsOf(tg).listEntities('order', { limit: 25, idPrefix: 'e-9999' }) },
  ];
  for (const c of cases) await c.op(); // warm the cache and the plans
  const runs = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const before = cpu();
  for (let round = 0; round < 3; round++) for (const c of cases) runs.get(c.name)!.push(await time(c.op));
  const after = cpu();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1] ?? NaN;
  const baseline = (name: string) => median(runs.get(cases.find((c) => c.name.startsWith(name.split(',')[0]!) && c.name.includes('baseline'))!.name)!);
  printTable(
    ['read', 'median ms (of 3)', 'runs ms', 'ratio to baseline', 'target'],
    cases.map((c) => {
      const m = median(runs.get(c.name)!);
      return [c.name, m.toFixed(1), runs.get(c.name)!.map((x) => x.toFixed(0)).join(' / '), (m / baseline(c.name)).toFixed(1), c === cases[0] ? '< 100 ms' : ''];
    }),
  );
  console.log(`machine CPU busy during the timings: ${(100 * (1 - (after.idle - before.idle) / (after.total - before.total))).toFixed(0)}% (shared machine: noisy)`);
} finally {
  await tg.close();
  await drop();
}
