/**
 * Replay throughput (docs/evolution.md, `tollgate replay`): transitions of recorded history replayed per second
 * through a new machine version, beside baselines measured in the same run on the same histories:
 *   - `tollgate replay` (whole run): replayHistory() reading the histories from Postgres in batches, replaying
 *     each through release 2 of the subscription and comparing outcomes. The issue's bar: 5,000/s.
 *   - engine only: replayEntity() + compareOutcomes() over the histories already in memory.
 *   - baseline, XState's exported API: initialTransition() and transition() per recorded event over the same
 *     histories in memory, nothing compared (a fresh actor scope per call: what a naive replay does).
 *   - reading only: recordedEntities() reading every history, nothing replayed.
 * Each row is the median of BENCH_RUNS runs (default 3), the rows alternating. The load average is printed before
 * and after: the machine is shared (2 cores, several engineers' builds and tests), so read the ratios.
 *
 * Run: npx tsx bench/replay.ts (Postgres: BENCH_DATABASE_URL). Env: BENCH_ENTITIES (default 1500), BENCH_ROUNDS
 * (renewals per entity, default 3). Filling the database takes most of the run (about 30 s).
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { ManualClock } from '../src/clock.ts';
import { createTollgate } from '../src/index.ts';
import { machines } from '../machines/index.ts';
import { machines as release2 } from '../examples/evolution/machines-v2.ts';
import { compareOutcomes } from '../src/replay/compare.ts';
import { recordedEntities } from '../src/replay/recorded-history.ts';
import type { RecordedEntity } from '../src/replay/recorded.ts';
import { replayEntity } from '../src/replay/replay-entity.ts';
import { replayHistory } from '../src/replay/replay-run.ts';
import { quoteIdent } from '../src/store/sql-client.ts';
import { median, printTable, scratchDatabase } from './support.ts';
import { testAccess } from '../src/runtime/test-access.ts';

const entities = Number(process.env.BENCH_ENTITIES ?? 1500);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const DAY = 86_400_000;
const load = () => os.loadavg().map((n) => n.toFixed(2)).join(' ');

const db = await scratchDatabase('tg_bench_replay');
const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
const tg = await createTollgate({ machines, clock, database: { url: db.url, maxConnections: 8 } });
try {
  await tg.migrate();
  console.log(`load average before: ${load()} (a shared 2-core machine: other engineers' work runs beside this)`);
  const filled = performance.now();
  await pool(entities, 16, async (i) => {
    const id = `s${String(i).padStart(6, '0')}`;
    await tg.create('subscription', id, { customerId: `c${i}`, plan: 'pro', gracePeriodMs: 4 * DAY });
    await tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm_1' });
    for (let r = 0; r < rounds; r++) {
      await tg.send('subscription', id, { type: 'RENEW' });
      await tg.send('subscription', id, { type: 'PAYMENT_SUCCEEDED', chargeId: `ch_${i}_${r}` });
    }
    if (i % 3 === 0) await tg.send('subscription', id, { type: 'PAYMENT_FAILED' });
    if (i % 3 === 1) {
      await tg.send('subscription', id, { type: 'PAUSE' });
      await tg.send('subscription', id, { type: 'RESUME' });
    }
  });
  // Let the grace periods end: their timers fire through the gate as the timer worker would fire them.
  clock.advance(5 * DAY);
  const s = quoteIdent(testAccess(tg).schema);
  const due = await testAccess(tg).client.query<{ id: string; entity_id: string; event: { type: string } }>(
    `SELECT id, entity_id, event FROM ${s}.timers WHERE status = 'scheduled' AND due_at <= $1::timestamptz`,
    [new Date(clock.now())],
  );
  await pool(due.length, 16, (i) => testAccess(tg).send('subscription', due[i]!.entity_id, due[i]!.event, { internal: true, firedTimerId: due[i]!.id, idempotencyKey: due[i]!.id }));
  const [{ n: stored } = { n: 0 }] = await testAccess(tg).client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.transitions`);
  console.log(`filled: ${entities} subscriptions, ${stored} recorded transitions in ${((performance.now() - filled) / 1000).toFixed(1)} s`);

  const read = async (): Promise<RecordedEntity[]> => {
    const all: RecordedEntity[] = [];
    for await (const batch of recordedEntities(testAccess(tg).client, testAccess(tg).schema, { machine: 'subscription' })) all.push(...batch);
    return all;
  };
  const histories = await read();
  const v2 = release2.subscription;
  const sides: Array<{ name: string; run: () => Promise<number> | number }> = [
    {
      name: '`tollgate replay` (read + replay + compare)',
      run: async () => (await replayHistory(testAccess(tg).client, testAccess(tg).schema, release2, { machines: ['subscription'] })).transitions,
    },
    {
      name: 'engine only (replayEntity + compareOutcomes, in memory)',
      run: () => histories.reduce((n, h) => n + replayAndCompare(h), 0),
    },
    { name: 'baseline: XState initialTransition/transition per event', run: () => histories.reduce((n, h) => n + naive(h), 0) },
    { name: 'reading only (recordedEntities, no replay)', run: async () => (await read()).reduce((n, h) => n + h.steps.length, 0) },
  ];
  const rates = new Map<string, number[]>(sides.map((side) => [side.name, []]));
  for (let r = 0; r < runs; r++) {
    for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
      const t0 = performance.now();
      const transitions = await side.run();
      rates.get(side.name)!.push(transitions / ((performance.now() - t0) / 1000));
    }
  }
  console.log(`\nReplay of ${histories.length} subscription histories through release 2, median of ${runs} runs`);
  printTable(
    ['side', 'transitions/s (median)', 'runs'],
    sides.map((side) => [side.name, Math.round(median(rates.get(side.name)!)).toLocaleString('en'), rates.get(side.name)!.map((x) => Math.round(x)).join(', ')]),
  );
  console.log(`load average after: ${load()}`);

  function replayAndCompare(h: RecordedEntity): number {
    const replay = replayEntity(v2, h);
    compareOutcomes(v2, h, replay);
    return replay.evaluated;
  }
} finally {
  await tg.close();
  await db.drop();
}

/** The same history through XState's exported pure API: a fresh actor scope per call, nothing compared. */
function naive(h: RecordedEntity): number {
  const machine: AnyStateMachine = release2.subscription.machine;
  let snapshot: AnyMachineSnapshot | undefined;
  let n = 0;
  for (const step of h.steps) {
    if (step.kind === 'create') [snapshot] = initialTransition(machine, (step.event as { input?: unknown }).input);
    else if (snapshot && step.kind !== 'migration') [snapshot] = transition(machine, snapshot, step.event);
    else continue;
    n++;
  }
  return n;
}

async function pool(total: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < total; i = next++) await op(i);
  }));
}
