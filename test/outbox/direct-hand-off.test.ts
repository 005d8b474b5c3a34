import { afterEach, describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { systemClock } from '../../src/clock.ts';
import { startRelay } from '../../src/outbox/relay.ts';
import { sweepEffects } from '../../src/outbox/sweeper.ts';
import type { NewJob, QueueKind, Transport } from '../../src/jobs/transport.ts';
import { inProcessTransport } from '../../src/jobs/transports/in-process.ts';
import { outboxChannel } from '../../src/store/commit.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { testRuntime } from '../support/databases.ts';
import { eventually, quietLogger } from '../support/processes.ts';
import { testAccess } from '../../src/runtime/test-access.ts';
import { portsOf } from '../../src/runtime/ports.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A transport whose `add` records each call's ids (after `delayMs`), and throws while `failing` is set. */
function recording(delayMs = 0) {
  const calls: string[][] = [];
  const readded: string[] = [];
  const state = { failing: false };
  const transport: Transport = {
    ...inProcessTransport(),
    async add(_queue: QueueKind, jobs: readonly NewJob[]) {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      if (state.failing) throw new Error('Redis is down');
      calls.push(jobs.map((j) => j.id));
    },
    async readd(_queue: QueueKind, jobs: readonly NewJob[]) {
      readded.push(...jobs.map((j) => j.id));
    },
  };
  return { transport, calls, readded, state, ids: () => calls.flat() };
}

async function world() {
  const tg = await testRuntime('postgres', { machines, maxConnections: 6 });
  const s = quoteIdent(testAccess(tg).schema);
  const notifications: number[] = [];
  const unlisten = await testAccess(tg).client.listen(outboxChannel(testAccess(tg).schema), () => void notifications.push(Date.now()));
  cleanups.push(() => unlisten());
  const statuses = async () => (await testAccess(tg).client.query<{ id: string; status: string }>(`SELECT id, status FROM ${s}.effects ORDER BY id`)).map((r) => r.status);
  return { tg, s, notifications, statuses };
}

describe('direct hand-off (a relay in the committing process)', () => {
  it('writes a commit\'s effects dispatched and adds them at once: no claim, no NOTIFY', async () => {
    const { tg, notifications, statuses } = await world();
    const t = recording();
    const relay = await startRelay(portsOf(tg), { transport: t.transport, clock: systemClock, pollIntervalMs: 60_000, logger: quietLogger, directHandOff: true });
    cleanups.push(() => relay.stop());
    await tg.create('subscription', 'd1', { customerId: 'c', plan: 'pro' });
    await tg.send('subscription', 'd1', { type: 'CANCEL' });
    expect(await statuses()).toEqual(['dispatched']); // as the commit wrote it: no relay round ran
    await eventually(() => t.ids().length === 1, 5000, 'the add');
    expect(await relay.runOnce()).toBe(0); // nothing pending to claim
    await new Promise((r) => setTimeout(r, 300));
    expect(notifications).toEqual([]);
    expect(t.ids()).toHaveLength(1);
  });

  it('is off by default, and once its relay stops: effects are written pending and relays are notified', async () => {
    const { tg, notifications, statuses } = await world();
    const plain = await startRelay(portsOf(tg), { transport: recording().transport, clock: systemClock, pollIntervalMs: 60_000, logger: quietLogger });
    await plain.stop();
    const relay = await startRelay(portsOf(tg), { transport: recording().transport, clock: systemClock, pollIntervalMs: 60_000, logger: quietLogger, directHandOff: true });
    await relay.stop();
    await tg.create('subscription', 'd2', { customerId: 'c', plan: 'pro' });
    await tg.send('subscription', 'd2', { type: 'CANCEL' });
    expect(await statuses()).toEqual(['pending']);
    await eventually(() => notifications.length === 1, 5000, 'the NOTIFY');
  });

  it('coalesces the adds of concurrent commits, each effect added once, and stop waits for the adds under way', async () => {
    const { tg } = await world();
    const t = recording(30);
    const relay = await startRelay(portsOf(tg), { transport: t.transport, clock: systemClock, pollIntervalMs: 60_000, logger: quietLogger, directHandOff: true });
    const ids = Array.from({ length: 40 }, (_, i) => `c${i}`);
    for (const id of ids) await tg.create('subscription', id, { customerId: 'c', plan: 'pro' });
    await Promise.all(ids.map((id) => tg.send('subscription', id, { type: 'CANCEL' })));
    await relay.stop(); // the last adds are still waiting on the slow transport
    expect(t.ids()).toHaveLength(40);
    expect(new Set(t.ids()).size).toBe(40);
    expect(t.calls.length).toBeLessThan(40); // one add in flight at a time; the next carries what came meanwhile
  });

  it('stops within its deadline when an add hangs (Redis unreachable), leaving the effect dispatched for the sweeper', async () => {
    const { tg, statuses } = await world();
    const hung: Transport = { ...inProcessTransport(), add: () => new Promise<void>(() => {}) };
    const relay = await startRelay(portsOf(tg), { transport: hung, clock: systemClock, pollIntervalMs: 60_000, logger: quietLogger, directHandOff: true });
    await tg.create('subscription', 'h1', { customerId: 'c', plan: 'pro' });
    await tg.send('subscription', 'h1', { type: 'CANCEL' });
    const at = Date.now();
    await relay.stop(300);
    expect(Date.now() - at).toBeGreaterThanOrEqual(250);
    expect(Date.now() - at).toBeLessThan(3000);
    expect(await statuses()).toEqual(['dispatched']);
  });

  it('leaves effects whose add failed dispatched; the sweeper adds them again', async () => {
    const { tg, s, statuses } = await world();
    const t = recording();
    t.state.failing = true;
    const relay = await startRelay(portsOf(tg), { transport: t.transport, clock: systemClock, pollIntervalMs: 60_000, logger: quietLogger, directHandOff: true });
    cleanups.push(() => relay.stop());
    await tg.create('subscription', 'f1', { customerId: 'c', plan: 'pro' });
    await tg.send('subscription', 'f1', { type: 'CANCEL' });
    await new Promise((r) => setTimeout(r, 200));
    expect(t.ids()).toEqual([]);
    expect(await statuses()).toEqual(['dispatched']);
    t.state.failing = false;
    const metrics = portsOf(tg).jobMetrics();
    expect(await sweepEffects(portsOf(tg).outboxStore, t.transport, metrics, { minAgeMs: 0 })).toHaveLength(1);
    const [row] = await testAccess(tg).client.query<{ id: string }>(`SELECT id FROM ${s}.effects`);
    expect(t.readded).toEqual([row?.id]);
    expect(t.ids()).toEqual([]);
  });
});
