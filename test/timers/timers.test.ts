import { afterEach, describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { registerDemoHandlers } from '../../machines/demo-handlers.ts';
import { ManualClock } from '../../src/clock.ts';
import { effectMetrics } from '../../src/outbox/metrics.ts';
import type { Transport } from '../../src/outbox/transport.ts';
import { bullmqTransport } from '../../src/outbox/transports/bullmq.ts';
import { inProcessTransport } from '../../src/outbox/transports/in-process.ts';
import { startTimerWorker } from '../../src/timers/fire.ts';
import { startTimerScheduler, sweepTimers, timerJob } from '../../src/timers/scheduler.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { TerminalError } from '../../src/effects/errors.ts';
import { testRuntime } from '../support/databases.ts';
import { eventually, quietLogger, stopAll, testProcesses, transportKinds } from '../support/processes.ts';
import { PrivateRedis, uniquePrefix } from '../support/redis.ts';

afterEach(stopAll);

const DAY = 24 * 3600_000;
const start = Date.parse('2026-03-01T00:00:00Z');

async function setup(kind: 'in-process' | 'bullmq') {
  const clock = new ManualClock(start);
  const tg = await testRuntime('postgres', { machines, clock, maxConnections: 4 });
  registerDemoHandlers(tg);
  const processes = await testProcesses(tg, kind, process.env.DBG ? { logger: { error: (o: object, m: string) => console.log('ERR', m, o), warn: (o: object, m: string) => console.log('WARN', m, o), info() {} } } : {});
  const emails = (id: string) =>
    tg.internals.client.query<{ template: string }>(
      `SELECT template FROM ${quoteIdent(tg.internals.schema)}.demo_emails WHERE customer_id = $1::text ORDER BY created_at`,
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
    const { clock, tg, emails } = await setup(kind);
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
    const metrics = effectMetrics(tg.internals.metrics.registry);
    const { client, schema } = tg.internals;
    const redis = kind === 'bullmq' ? await PrivateRedis.start() : undefined;
    const prefix = kind === 'bullmq' ? uniquePrefix(redis!.url) : '';
    const make = (): Transport =>
      kind === 'bullmq' ? bullmqTransport({ redisUrl: redis!.url, prefix, namespace: schema, clock }) : inProcessTransport({ clock });
    let transport = make();
    await tg.create('subscription', 'lost', { customerId: 'lost', plan: 'pro' });
    clock.advance(14 * DAY);
    // Armed (a due job in the queue), but no timer worker yet.
    const scheduler = startTimerScheduler(client, schema, { transport, clock, logger: quietLogger, pollIntervalMs: 60_000 });
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
    expect(await sweepTimers(client, schema, transport, metrics, { minAgeMs: 0 })).toEqual([timer!.id]);
    const worker = startTimerWorker(tg as never, { transport, clock, logger: quietLogger });
    await eventually(async () => (await tg.get('subscription', 'lost')).state === 'canceled', 10_000, 'the re-armed timer');
    await new Promise((r) => setTimeout(r, 200));
    expect(await sweepTimers(client, schema, transport, metrics, { minAgeMs: 0 })).toEqual([]);
    expect((await tg.history('subscription', 'lost')).filter((t) => t.eventType.startsWith('xstate.after'))).toHaveLength(1);
    await worker.close(1000);
    await transport.close();
  });
});
