import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { machines, subscription } from '../../machines/index.ts';
import { createDemoTables, registerDemoHandlers } from '../../machines/demo-handlers.ts';
import { ManualClock, systemClock } from '../../src/clock.ts';
import type { Transport } from '../../src/jobs/transport.ts';
import { bullmqTransport } from '../../src/jobs/transports/bullmq.ts';
import { inProcessTransport } from '../../src/jobs/transports/in-process.ts';
import { startTimerWorker } from '../../workers/timers.ts';
import { startTimerScheduler, sweepTimers, timerJob } from '../../src/timers/scheduler.ts';
import { quoteIdent, type SqlClient } from '../../src/store/sql-client.ts';
import { TerminalError } from '../../src/effects/errors.ts';
import { testRuntime } from '../support/databases.ts';
import { eventually, quietLogger, stopAll, testProcesses, transportKinds } from '../support/processes.ts';
import { PrivateRedis, uniquePrefix } from '../support/redis.ts';
import { widgetRelease1, widgetRelease2 } from '../fixtures/widget-releases.ts';
import { testAccess } from '../../src/runtime/test-access.ts';
import { portsOf } from '../../src/runtime/ports.ts';

afterEach(stopAll);

const DAY = 24 * 3600_000;
const start = Date.parse('2026-03-01T00:00:00Z');

async function setup(kind: 'in-process' | 'bullmq', except: string[] = []) {
  const clock = new ManualClock(start);
  const tg = await testRuntime('postgres', { machines, clock, maxConnections: 4 });
  registerDemoHandlers(tg, { except });
  // The demo handlers make their tables on first use; the test reads them before an email may have gone out.
  await createDemoTables(tg);
  const processes = await testProcesses(tg, kind, process.env.DBG ? { logger: { error: (o: object, m: string) => console.log('ERR', m, o), warn: (o: object, m: string) => console.log('WARN', m, o), info() {} } } : {});
  const emails = (id: string) =>
    testAccess(tg).client.query<{ template: string }>(
      `SELECT template FROM ${quoteIdent(testAccess(tg).schema)}.demo_emails WHERE customer_id = $1::text ORDER BY created_at`,
      [id],
    );
  return { clock, tg, processes, emails };
}

describe.each(transportKinds())('durable timers on %s (simulated clock)', (kind) => {
  it('expires a trial with a payment method on file into active, with one charge', async () => {
    const { clock, tg } = await setup(kind);
    await tg.create('subscription', 'tp', { customerId: 'tp', plan: 'pro', paymentMethodId: 'pm_1' });
    clock.advance(14 * DAY - 1);
    await new Promise((r) => setTimeout(r, 300));
    expect((await tg.get('subscription', 'tp')).state).toBe('trial');
    clock.advance(1);
    await eventually(async () => (await tg.get('subscription', 'tp')).context.payments === 1, 10_000, 'the trial conversion and its charge');
    expect(await tg.timers('subscription', 'tp')).toMatchObject([{ status: 'fired' }]);
    expect((await tg.history('subscription', 'tp')).map((t) => t.eventType)).toContain('xstate.after.trialPeriod.subscription.trial');
    expect(await tg.effects('subscription', 'tp')).toMatchObject([{ type: 'chargePayment', params: { reason: 'trial_converted' }, status: 'completed' }]);
  });

  it('expires a trial without a payment method into canceled, with one trial_expired email', async () => {
    const { clock, tg, emails } = await setup(kind);
    await tg.create('subscription', 'tn', { customerId: 'tn', plan: 'pro' });
    clock.advance(15 * DAY);
    await eventually(async () => (await emails('tn')).length === 1, 10_000, 'the email');
    expect((await tg.get('subscription', 'tn')).state).toBe('canceled');
    expect(await emails('tn')).toEqual([{ template: 'trial_expired' }]);
  });

  it('expires grace into canceled with one cancellation email', async () => {
    const { clock, tg, emails } = await setup(kind, ['chargePayment']);
    await tg.create('subscription', 'gx', { customerId: 'gx', plan: 'pro', paymentMethodId: 'pm', gracePeriodMs: 7 * DAY });
    // A provider that declines the dunning retry: PAYMENT_FAILED in grace is illegal (the grace timer decides).
    tg.effect('chargePayment', async (ctx) => {
      if (ctx.params.reason === 'dunning_retry') throw new TerminalError('declined');
      return { event: { type: 'PAYMENT_SUCCEEDED' } };
    });
    await tg.send('subscription', 'gx', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await eventually(async () => (await tg.get('subscription', 'gx')).context.payments === 1);
    await tg.send('subscription', 'gx', { type: 'PAYMENT_FAILED' });
    await eventually(async () => (await tg.effects('subscription', 'gx')).every((e) => e.status === 'completed' || e.status === 'failed'));
    expect((await tg.get('subscription', 'gx')).state).toBe('grace');
    clock.advance(7 * DAY - 1);
    await new Promise((r) => setTimeout(r, 300));
    expect((await tg.get('subscription', 'gx')).state).toBe('grace');
    clock.advance(1);
    await eventually(async () => (await emails('gx')).length === 2, 10_000, 'the cancellation email');
    expect((await tg.get('subscription', 'gx')).state).toBe('canceled');
    expect((await emails('gx')).map((e) => e.template)).toEqual(['payment_failed', 'cancellation']);
  });

  it('never fires a grace timer left early (no cancellation); a stale job for it is ignored and counted', async () => {
    const { clock, tg, emails, processes } = await setup(kind);
    await tg.create('subscription', 'ge', { customerId: 'ge', plan: 'pro', paymentMethodId: 'pm', gracePeriodMs: 7 * DAY });
    await tg.send('subscription', 'ge', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await eventually(async () => (await tg.get('subscription', 'ge')).context.payments === 1);
    await tg.send('subscription', 'ge', { type: 'PAYMENT_FAILED' }); // -> grace; the dunning charge succeeds -> active
    await eventually(async () => (await tg.get('subscription', 'ge')).state === 'active', 10_000, 'ge to leave grace early');
    const [timer] = await tg.timers('subscription', 'ge');
    expect(timer).toMatchObject({ status: 'cancelled' });
    clock.advance(30 * DAY);
    await new Promise((r) => setTimeout(r, 500));
    expect((await tg.get('subscription', 'ge')).state).toBe('active');
    expect((await emails('ge')).map((e) => e.template)).toEqual(['payment_failed']);
    // A job for the cancelled timer delivered anyway (a sweeper race, a duplicate): ignored and counted.
    await processes.transport.add('timers', [timerJob({ id: timer!.id, machine: 'subscription', entity_id: 'ge', due_at: new Date(timer!.dueAt) })]);
    await eventually(async () => (await tg.metricsText()).includes('tollgate_timers_stale_total{machine="subscription",reason="cancelled"} 1'));
    expect((await tg.get('subscription', 'ge')).state).toBe('active');
    expect((await tg.history('subscription', 'ge')).map((t) => t.eventType)).not.toContain('xstate.after.gracePeriod.subscription.grace');
  });

  it('re-arms a timer whose job the queue lost, and fires it once', async () => {
    const clock = new ManualClock(start);
    const tg = await testRuntime('postgres', { machines, clock, maxConnections: 4 });
    registerDemoHandlers(tg);
    const metrics = portsOf(tg).jobMetrics();
    const { schema } = testAccess(tg);
    const redis = kind === 'bullmq' ? await PrivateRedis.start() : undefined;
    const prefix = kind === 'bullmq' ? uniquePrefix(redis!.url) : '';
    const make = (): Transport =>
      kind === 'bullmq' ? bullmqTransport({ redisUrl: redis!.url, prefix, namespace: schema, clock }) : inProcessTransport({ clock });
    let transport = make();
    await tg.create('subscription', 'lost', { customerId: 'lost', plan: 'pro' });
    clock.advance(14 * DAY);
    // Armed (a due job in the queue), but no timer worker yet.
    const scheduler = startTimerScheduler(portsOf(tg).timerStore, { transport, clock, logger: quietLogger, pollIntervalMs: 60_000 });
    await scheduler.stop();
    const [timer] = await tg.timers('subscription', 'lost');
    expect(await transport.present('timers', [timer!.id])).toEqual(new Set([timer!.id]));
    // The queue loses everything: Redis restarted without persistence / the embedded process restarted.
    if (redis) {
      await transport.close();
      await redis.shutdownNoSave();
      await redis.start();
    }
    transport = make();
    expect(await transport.present('timers', [timer!.id])).toEqual(new Set());
    expect(await sweepTimers(portsOf(tg).timerStore, transport, metrics, { minAgeMs: 0 })).toEqual([timer!.id]);
    const worker = startTimerWorker(portsOf(tg), { transport, clock, logger: quietLogger });
    await eventually(async () => (await tg.get('subscription', 'lost')).state === 'canceled', 10_000, 'the re-armed timer');
    await new Promise((r) => setTimeout(r, 200));
    expect(await sweepTimers(portsOf(tg).timerStore, transport, metrics, { minAgeMs: 0 })).toEqual([]);
    expect((await tg.history('subscription', 'lost')).filter((t) => t.eventType.startsWith('xstate.after'))).toHaveLength(1);
    await worker.close(1000);
    await transport.close();
  });
});

/** Holds the timer worker right after its read of a timer's row, until `release()`; `restore()` undoes the hold. */
function holdTimerWorkerAfterRead(tg: Parameters<typeof testAccess>[0]) {
  const client = testAccess(tg).client as { query: SqlClient['query'] };
  const original = client.query;
  let sawRead!: () => void;
  const read = new Promise<void>((r) => (sawRead = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let held = false;
  client.query = (async (text: string, params?: readonly unknown[], how?: object) => {
    const rows = await original(text, params, how);
    if (!held && text.includes('event, due_at, status FROM') && text.includes('.timers WHERE id = $1::text')) {
      held = true;
      sawRead();
      await released;
    }
    return rows;
  }) as SqlClient['query'];
  return { read, release, restore: () => void (client.query = original) };
}

describe('timers racing the transitions that cancel them (in-process, simulated clock)', () => {
  it("never applies a timer cancelled between the timer worker's read and its commit, even when the state was re-entered", async () => {
    const clock = new ManualClock(start);
    const tg = await testRuntime('postgres', { machines, clock, maxConnections: 4 });
    // Timers only: no effect runs, so only this test's sends move the entity.
    await testProcesses(tg, 'in-process', { relay: false, effectWorkers: false, eventWorkers: false });
    await tg.create('subscription', 'r1', { customerId: 'c-r1', plan: 'pro', paymentMethodId: 'pm', gracePeriodMs: DAY });
    await tg.send('subscription', 'r1', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await tg.send('subscription', 'r1', { type: 'PAYMENT_FAILED' }); // -> grace, timer T1 due in a day
    const graceTimers = async () => (await tg.timers('subscription', 'r1')).filter((t) => t.sendId.endsWith('.grace'));
    const [t1] = await graceTimers();
    expect(t1?.status).toBe('scheduled');

    // Hold the timer worker right after it read T1 as scheduled: another process's commits get in meanwhile.
    const { read, release, restore } = holdTimerWorkerAfterRead(tg);
    clock.advance(DAY);
    await read;
    // The dunning charge succeeds (grace -> active, T1 cancelled), then the next one fails (active -> grace, T2).
    await tg.send('subscription', 'r1', { type: 'PAYMENT_SUCCEEDED' });
    await tg.send('subscription', 'r1', { type: 'PAYMENT_FAILED' });
    release();
    await eventually(async () => /tollgate_timers_stale_total\{[^}]*reason="cancelled"[^}]*\} 1/.test(await tg.metricsText()), 10_000, 'T1 counted stale');
    restore();

    // T1's event did not apply; T2 still runs the new grace period.
    expect((await tg.history('subscription', 'r1')).map((t) => t.eventType)).not.toContain('xstate.after.gracePeriod.subscription.grace');
    expect((await tg.get('subscription', 'r1')).state).toBe('grace');
    const timers = await graceTimers();
    expect(timers.find((t) => t.id === t1?.id)?.status).toBe('cancelled');
    expect(timers.find((t) => t.id !== t1?.id)?.status).toBe('scheduled');
    // And T2 fires when due.
    clock.advance(DAY);
    await eventually(async () => (await tg.get('subscription', 'r1')).state === 'canceled', 10_000, 'T2 to cancel it');
    await sleep(0);
  });

  it('a timer cancelled between the read and the commit (state left) is counted stale, not an illegal attempt', async () => {
    const clock = new ManualClock(start);
    const tg = await testRuntime('postgres', { machines, clock, maxConnections: 4 });
    await testProcesses(tg, 'in-process', { relay: false, effectWorkers: false, eventWorkers: false });
    await tg.create('subscription', 'r2', { customerId: 'c-r2', plan: 'pro', paymentMethodId: 'pm', gracePeriodMs: DAY });
    await tg.send('subscription', 'r2', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await tg.send('subscription', 'r2', { type: 'PAYMENT_FAILED' }); // -> grace, timer T1
    const { read, release, restore } = holdTimerWorkerAfterRead(tg);
    clock.advance(DAY);
    await read;
    await tg.send('subscription', 'r2', { type: 'PAYMENT_SUCCEEDED' }); // grace -> active, T1 cancelled
    release();
    await eventually(async () => /tollgate_timers_stale_total\{[^}]*\} 1/.test(await tg.metricsText()), 10_000, 'T1 counted stale');
    restore();
    expect(await tg.metricsText()).toMatch(/tollgate_timers_stale_total\{[^}]*reason="cancelled"[^}]*\} 1/);
    expect(await tg.rejections('subscription', 'r2')).toEqual([]);
    expect((await tg.get('subscription', 'r2')).state).toBe('active');
  });
});

describe('timers during a rolling deploy (in-process, simulated clock)', () => {
  it('a worker that does not know the timer\'s machine leaves it scheduled; a worker that knows fires it', async () => {
    const clock = new ManualClock(start);
    const tgNew = await testRuntime('postgres', { machines, clock, maxConnections: 4 });
    // An older release's worker on the same database: it does not know the `order` machine yet.
    const tgOld = await testRuntime('postgres', { machines: { subscription }, clock, maxConnections: 4, schema: testAccess(tgNew).schema });
    await tgNew.create('order', 'o1', { orderId: 'o1', customerId: 'c-o1', amountCents: 500, paymentTimeoutMs: 30 * 60_000 });
    const warnings: string[] = [];
    const logger = { ...quietLogger, warn: (_: object, message: string) => void warnings.push(message) };
    const old = await testProcesses(tgOld, 'in-process', { relay: false, effectWorkers: false, eventWorkers: false, logger });
    clock.advance(31 * 60_000);
    await eventually(() => warnings.some((m) => m.includes("left for a worker that knows machine 'order'")), 10_000, 'the old worker to take the timer');
    expect((await tgNew.timers('order', 'o1'))[0]?.status).toBe('scheduled');
    expect((await tgNew.get('order', 'o1')).state).not.toBe('expired');
    await old.stop({ deadlineMs: 1000 });
    // The new release's workers are up: the payment window is over, so the order expires.
    const fresh = await testProcesses(tgNew, 'in-process', { relay: false, effectWorkers: false, eventWorkers: false });
    await fresh.sweep({ minAgeMs: 0 });
    await eventually(async () => (await tgNew.get('order', 'o1')).state === 'expired', 10_000, 'the order to expire');
    expect((await tgNew.timers('order', 'o1'))[0]?.status).toBe('fired');
  });

  it('a worker of an older machine version leaves a timer its release does not have scheduled; the newer release fires it', async () => {
    const clock = new ManualClock(start);
    const tgNew = await testRuntime('postgres', { machines: { widget: widgetRelease2 }, clock, maxConnections: 4 });
    const tgOld = await testRuntime('postgres', { machines: { widget: widgetRelease1 }, clock, maxConnections: 4, schema: testAccess(tgNew).schema });
    await tgNew.create('widget', 'w1', {});
    const warnings: string[] = [];
    const logger = { ...quietLogger, warn: (_: object, message: string) => void warnings.push(message) };
    const old = await testProcesses(tgOld, 'in-process', { relay: false, effectWorkers: false, eventWorkers: false, logger });
    clock.advance(61_000);
    await eventually(() => warnings.some((m) => m.includes("left for a worker that knows machine 'widget'")), 10_000, 'the old worker to take the timer');
    expect((await tgNew.timers('widget', 'w1'))[0]?.status).toBe('scheduled');
    expect(await tgOld.metricsText()).toMatch(/tollgate_deploy_skew_deferred_total\{queue="timers",machine="widget",code="TG_MACHINE_VERSION_AHEAD"\} 1/);
    await old.stop({ deadlineMs: 1000 });
    const fresh = await testProcesses(tgNew, 'in-process', { relay: false, effectWorkers: false, eventWorkers: false });
    await fresh.sweep({ minAgeMs: 0 });
    await eventually(async () => (await tgNew.get('widget', 'w1')).state === 'expired', 10_000, 'the newer release to expire it');
  });
});

describe.runIf(transportKinds().includes('bullmq'))('the timer scheduler while Redis is down (bullmq, system clock)', () => {
  it('holds no timer row while its add waits: a transition that cancels the timer commits at once', async () => {
    const redis = await PrivateRedis.start();
    const tg = await testRuntime('postgres', { machines, maxConnections: 4 });
    const { client, schema } = testAccess(tg);
    const transport = bullmqTransport({ redisUrl: redis.url, prefix: uniquePrefix(redis.url), namespace: schema });
    await redis.shutdownNoSave();
    // A trial ending in 30 s: within the scheduler's 60 s horizon, so its round claims it and waits on Redis.
    await tg.create('subscription', 'down', { customerId: 'down', plan: 'pro', trialPeriodMs: 30_000 });
    const scheduler = startTimerScheduler(portsOf(tg).timerStore, { transport, clock: systemClock, logger: quietLogger, pollIntervalMs: 50 });
    // Claimed: marked armed, or locked by a round still open (a row the SKIP LOCKED read cannot get).
    const t = `${quoteIdent(schema)}.timers`;
    const claimed = async () =>
      (await client.query<{ claimed: boolean }>(
        `SELECT (SELECT bool_or(armed_at IS NOT NULL) FROM ${t}) OR NOT EXISTS (SELECT 1 FROM ${t} FOR UPDATE SKIP LOCKED) AS claimed`,
      ))[0]?.claimed === true;
    await eventually(claimed, 5_000, 'the round to claim the timer');
    // The cancellation cancels the trial timer in its commit: it must not wait for the scheduler's add.
    const sent = await Promise.race([tg.send('subscription', 'down', { type: 'CANCEL' }).then(() => 'committed'), sleep(3_000).then(() => 'still waiting')]);
    expect(sent).toBe('committed');
    expect((await tg.timers('subscription', 'down')).map((t) => t.status)).toEqual(['cancelled']);
    await redis.start();
    await eventually(async () => (await transport.present('timers', [(await tg.timers('subscription', 'down'))[0]!.id])).size === 1, 10_000, 'the add to go through once Redis is back');
    // That job finds its timer cancelled when it fires (counted stale, as any job of a cancelled timer).
    await scheduler.stop();
    expect((await tg.get('subscription', 'down')).state).toBe('canceled');
    await transport.close();
  });
});
