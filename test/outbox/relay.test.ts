import { afterEach, describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { systemClock } from '../../src/clock.ts';
import { startRelay } from '../../src/outbox/relay.ts';
import type { NewJob, QueueKind, Transport } from '../../src/jobs/transport.ts';
import { bullmqTransport } from '../../src/jobs/transports/bullmq.ts';
import { inProcessTransport } from '../../src/jobs/transports/in-process.ts';
import { planEachRun, quoteIdent } from '../../src/store/sql-client.ts';
import { startEffectWorker } from '../../workers/effects.ts';
import { testRuntime } from '../support/databases.ts';
import { eventually, quietLogger, transportKinds } from '../support/processes.ts';
import { sharedRedisUrl, uniquePrefix } from '../support/redis.ts';
import { testAccess } from '../../src/runtime/test-access.ts';
import { portsOf } from '../../src/runtime/ports.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Wraps a transport to count every job id handed to `add` (what "dispatched twice" would look like). */
function counting(inner: Transport, counts: Map<string, number>): Transport {
  return {
    ...inner,
    async add(queue: QueueKind, jobs: readonly NewJob[]) {
      if (queue === 'effects') for (const j of jobs) counts.set(j.id, (counts.get(j.id) ?? 0) + 1);
      await inner.add(queue, jobs);
    },
  };
}

async function subscriptions() {
  const tg = await testRuntime('postgres', { machines, maxConnections: 6 });
  const s = quoteIdent(testAccess(tg).schema);
  return { tg, s };
}

describe('relay', () => {
  it('wakes on the commit\'s NOTIFY, long before its next poll', async () => {
    const { tg } = await subscriptions();
    const added: string[] = [];
    const transport = inProcessTransport();
    const relay = await startRelay(portsOf(tg), { transport: { ...transport, add: async (_q, jobs) => void added.push(...jobs.map((j) => j.id)) }, clock: systemClock, pollIntervalMs: 60_000, logger: quietLogger });
    cleanups.push(() => relay.stop());
    await new Promise((r) => setTimeout(r, 200)); // the first (empty) round is done; now only a NOTIFY can wake it
    await tg.create('subscription', 'n1', { customerId: 'c', plan: 'pro' });
    const at = Date.now();
    await tg.send('subscription', 'n1', { type: 'CANCEL' });
    await eventually(() => added.length === 1, 5000);
    expect(Date.now() - at).toBeLessThan(2000);
  });

  it('claims without waiting for the WAL flush, and leaves the session committing durably for the next statement', async () => {
    // One connection per pool: the claim and the checks below share a session.
    const tg = await testRuntime('postgres', { machines, maxConnections: 1 });
    const s = quoteIdent(testAccess(tg).schema);
    await tg.create('subscription', 'd1', { customerId: 'c', plan: 'pro' });
    await tg.send('subscription', 'd1', { type: 'CANCEL' });
    const relay = await startRelay(portsOf(tg), { transport: { ...inProcessTransport(), add: async () => {} }, clock: systemClock, pollIntervalMs: 60_000, logger: quietLogger });
    cleanups.push(() => relay.stop());
    await eventually(async () => (await testAccess(tg).client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.effects WHERE status = 'dispatched'`))[0]?.n === 1);
    // A worker's completion runs on these sessions next: it must wait for its flush.
    expect(await testAccess(tg).client.query(`SELECT current_setting('synchronous_commit') AS v, $1::int AS n`, [1], planEachRun)).toEqual([{ v: 'on', n: 1 }]);
    expect(await testAccess(tg).client.query(`SELECT current_setting('synchronous_commit') AS v`)).toEqual([{ v: 'on' }]);
  });

  it('is woken after every commit of a burst: 40 concurrent commits, all dispatched without a poll', async () => {
    const { tg } = await subscriptions();
    const added = new Set<string>();
    const transport = inProcessTransport();
    const relay = await startRelay(portsOf(tg), { transport: { ...transport, add: async (_q, jobs) => void jobs.forEach((j) => added.add(j.id)) }, clock: systemClock, pollIntervalMs: 60_000, logger: quietLogger });
    cleanups.push(() => relay.stop());
    const ids = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
    for (const id of ids) await tg.create('subscription', id, { customerId: 'c', plan: 'pro' });
    await new Promise((r) => setTimeout(r, 200)); // only a NOTIFY can wake it now
    // NOTIFYs are coalesced after commits; each commit must still be followed by one issued after it.
    await Promise.all(ids.map((id) => tg.send('subscription', id, { type: 'CANCEL' })));
    await eventually(() => added.size === 40, 5000);
  });

  it('stops within its deadline when a round hangs on the add (Redis unreachable), the claimed effect left to the sweeper', async () => {
    const { tg, s } = await subscriptions();
    const hung: Transport = { ...inProcessTransport(), add: () => new Promise<void>(() => {}) };
    const relay = await startRelay(portsOf(tg), { transport: hung, clock: systemClock, pollIntervalMs: 60_000, logger: quietLogger });
    await tg.create('subscription', 'h1', { customerId: 'c', plan: 'pro' });
    await tg.send('subscription', 'h1', { type: 'CANCEL' });
    const status = async () => (await testAccess(tg).client.query<{ status: string }>(`SELECT status FROM ${s}.effects`))[0]?.status;
    await eventually(async () => (await status()) === 'dispatched', 5000, 'the claim');
    const at = Date.now();
    await relay.stop(300);
    expect(Date.now() - at).toBeLessThan(3000);
    expect(await status()).toBe('dispatched');
  });

  it('finds by polling an effect whose notification was lost', async () => {
    const { tg, s } = await subscriptions();
    const added: string[] = [];
    const relay = await startRelay(portsOf(tg), { transport: { ...inProcessTransport(), add: async (_q, jobs) => void added.push(...jobs.map((j) => j.id)) }, clock: systemClock, pollIntervalMs: 200, logger: quietLogger });
    cleanups.push(() => relay.stop());
    // An effect row written without NOTIFY (as if the notification were lost).
    await testAccess(tg).client.query(
      `INSERT INTO ${s}.effects (id, transition_id, machine, entity_id, seq, idx, type, params, status, created_at)
       VALUES ('00000000-0000-4000-8000-000000000001-e0', '00000000-0000-4000-8000-000000000001', 'subscription', 'lost', 1, 0, 'sendEmail', '{}'::jsonb, 'pending', now())`,
    );
    await eventually(() => added.length === 1, 3000, 'the poll');
    const [row] = await testAccess(tg).client.query<{ status: string }>(`SELECT status FROM ${s}.effects`);
    expect(row?.status).toBe('dispatched');
  });
});

describe.each(transportKinds())('two relays and three workers on %s', (kind) => {
  it('dispatches and runs each of the effects of 1,000 transitions exactly once', async () => {
    const { tg, s } = await subscriptions();
    const prefix = kind === 'bullmq' ? uniquePrefix() : '';
    const make = () => (kind === 'bullmq' ? bullmqTransport({ redisUrl: sharedRedisUrl(), prefix, namespace: testAccess(tg).schema }) : undefined);
    const shared = kind === 'in-process' ? inProcessTransport() : undefined;
    const transport = () => shared ?? (make() as Transport);
    const runs = new Map<string, number>();
    tg.effect('sendEmail', async (ctx) => {
      runs.set(ctx.effectId, (runs.get(ctx.effectId) ?? 0) + 1);
      return {};
    });
    const dispatched = new Map<string, number>();
    const transports = [transport(), transport(), transport(), transport(), transport()];
    cleanups.push(async () => void (await Promise.all(transports.map((t) => t.close()))));
    const relays = await Promise.all(
      [0, 1].map((i) => startRelay(portsOf(tg), { transport: counting(transports[i]!, dispatched), clock: systemClock, pollIntervalMs: 100, batchSize: 50, logger: quietLogger })),
    );
    cleanups.push(async () => void (await Promise.all(relays.map((r) => r.stop()))));
    const workers = [2, 3, 4].map((i) => startEffectWorker(portsOf(tg), { transport: transports[i]!, concurrency: 8, clock: systemClock, logger: quietLogger }));
    cleanups.push(async () => void (await Promise.all(workers.map((w) => w.close(1000)))));
    // 500 creations (no effect) and 500 cancellations (one sendEmail each), from 10 concurrent writers.
    await Promise.all(Array.from({ length: 10 }, async (_, w) => {
      for (let i = w; i < 500; i += 10) {
        await tg.create('subscription', `m${i}`, { customerId: `c${i}`, plan: 'pro' });
        await tg.send('subscription', `m${i}`, { type: 'CANCEL' });
      }
    }));
    await eventually(async () => {
      const [row] = await testAccess(tg).client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.effects WHERE status = 'completed'`);
      return row?.n === 500;
    }, 40_000, 'every effect to complete');
    await new Promise((r) => setTimeout(r, 300));
    expect(dispatched.size).toBe(500);
    expect([...dispatched.values()].every((n) => n === 1)).toBe(true);
    expect(runs.size).toBe(500);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
  }, 60_000);
});
