import { afterEach, describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { ManualClock } from '../../src/index.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { backends, postgresAvailable, testRuntime } from '../support/databases.ts';
import { eventually, stopAll, testProcesses } from '../support/processes.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

afterEach(stopAll);

const DAY = 24 * 3600_000;
const by = { actor: 'oncall', reason: 'incident 7: payments provider degraded' };

describe.each(backends())('freezes on %s', (backend) => {
  it('refuses matching sends with TG_FROZEN, records and counts them; reads, dry runs and exceptions go on', async () => {
    const clock = new ManualClock(Date.parse('2026-05-01T00:00:00Z'));
    const tg = await testRuntime(backend, { machines, clock });
    await tg.create('subscription', 'a', { customerId: 'a', plan: 'pro' });
    await tg.send('subscription', 'a', { type: 'UPGRADE', paymentMethodId: 'pm' });
    const freeze = await tg.governance.freeze({ machine: 'subscription', states: ['active', 'paused'], except: ['CANCEL'], until: '2026-05-01T02:00:00Z', ...by });
    expect(freeze).toMatchObject({ machine: 'subscription', states: ['active', 'paused'], except: ['CANCEL'], events: null, active: true, createdBy: 'oncall' });

    const refused = await tg.send('subscription', 'a', { type: 'PAUSE' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'TG_FROZEN',
      status: 423,
      retryable: true,
      details: { freezeId: freeze.id, reason: by.reason, until: '2026-05-01T02:00:00.000Z', state: 'active', event: 'PAUSE' },
    });
    expect(await tg.get('subscription', 'a')).toMatchObject({ state: 'active', version: 2 });
    expect(await tg.dryRun('subscription', 'a', { type: 'PAUSE' })).toMatchObject({ accepted: true, to: { state: 'paused.idle' } });
    expect((await tg.rejections('subscription', 'a')).map((r) => r.code)).toEqual(['TG_FROZEN']);
    const metrics = await tg.metricsText();
    expect(metrics).toMatch(/tollgate_frozen_refusals_total\{machine="subscription",state="active",event="PAUSE"\} 1/);
    expect(metrics).toMatch(/tollgate_active_freezes\{machine="subscription"\} 1/);
    expect(metrics).toMatch(/tollgate_active_freezes\{machine="order"\} 0/);

    // Other states are not frozen; a state inside a frozen one is.
    await tg.create('subscription', 'b', { customerId: 'b', plan: 'pro' });
    await tg.send('subscription', 'b', { type: 'UPGRADE', paymentMethodId: 'pm' }); // trial -> active: trial is not frozen

    // The exception (a support-safe action) goes on.
    expect((await tg.send('subscription', 'a', { type: 'CANCEL' })).entity.state).toBe('canceled');

    // Past `until` the freeze ends by itself; lifted, it ends for good.
    clock.advance(2 * 3600_000);
    expect((await tg.send('subscription', 'b', { type: 'PAUSE' })).entity.state).toBe('paused.idle');
    expect((await tg.governance.freezes())[0]).toMatchObject({ id: freeze.id, active: false });
    const lifted = await tg.governance.unfreeze(freeze.id, { actor: 'oncall', reason: 'provider recovered' });
    expect(lifted).toMatchObject({ liftedBy: 'oncall', liftReason: 'provider recovered', active: false });
    expect(await tg.governance.freezes()).toEqual([]);
    expect(await tg.governance.freezes({ all: true })).toHaveLength(1);
    await expect(tg.governance.unfreeze('frz_nope', by)).rejects.toMatchObject({ code: 'TG_FREEZE_NOT_FOUND' });
  });
});

describe.runIf(postgresAvailable())('freezes across processes and the system\'s own work (postgres, in-process transport)', () => {
  it('reaches another process within 1 s; a frozen timer and a frozen effect follow-up wait and apply after the unfreeze; a queued event is answered TG_FROZEN', async () => {
    const schema = `gov_frz_${process.pid}`;
    const clock = new ManualClock(Date.parse('2026-05-01T00:00:00Z'));
    const admin = await testRuntime('postgres', { machines, schema, clock });
    const tg = await testRuntime('postgres', { machines, schema, clock });
    let release: () => void = () => {};
    const charged = new Promise<void>((resolve) => (release = resolve));
    tg.effect('chargePayment', async () => {
      await charged;
      return { event: { type: 'PAYMENT_SUCCEEDED' } };
    });
    tg.effect('sendEmail', async () => ({}));
    await testProcesses(tg, 'in-process');

    // A trial whose timer is due, and an upgrade whose charge is in flight.
    await tg.create('subscription', 't', { customerId: 't', plan: 'pro', trialPeriodMs: DAY });
    await tg.create('subscription', 'u', { customerId: 'u', plan: 'pro' });
    await tg.send('subscription', 'u', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await tg.get('subscription', 'u'); // tg has read the rules

    const freeze = await admin.governance.freeze({ machine: 'subscription', ...by });
    // Every send that starts 1 s after the freeze committed is refused: the last one still let through started earlier.
    const t0 = performance.now();
    let lastMiss = 0;
    // A RENEW let through before the freeze reached tg commits and charges again: count them for the end.
    let renewed = 0;
    await eventually(async () => {
      const started = performance.now();
      const answer = await tg.send('subscription', 'u', { type: 'RENEW' }).then(() => 'committed', (e: { code: string }) => e.code);
      if (answer === 'committed') renewed++;
      const frozen = answer === 'TG_FROZEN';
      if (!frozen) lastMiss = started - t0;
      return frozen;
    }, 5000);
    expect(lastMiss).toBeLessThan(1000);

    clock.advance(DAY);
    release();
    const queued = await tg.enqueue('subscription', 'u', { type: 'PAUSE' }, { idempotencyKey: 'q1' });
    expect(await queued.outcome()).toMatchObject({ status: 'rejected', code: 'TG_FROZEN' });
    // The timer and the follow-up were tried and held back (counted), not dropped.
    await eventually(async () => /tollgate_frozen_deferrals_total\{machine="subscription",event="PAYMENT_SUCCEEDED"\} [1-9]/.test(await tg.metricsText()), 5000, 'the deferred follow-up');
    await eventually(async () => /tollgate_frozen_deferrals_total\{machine="subscription",event="xstate\.after/.test(await tg.metricsText()), 5000, 'the deferred timer');
    expect(await tg.timers('subscription', 't')).toMatchObject([{ status: 'scheduled' }]);
    expect((await tg.get('subscription', 't')).state).toBe('trial');
    expect((await tg.get('subscription', 'u')).context.payments).toBe(0);
    const followUps = await testAccess(tg).client.query<{ status: string; follow_up_outcome: unknown }>(
      `SELECT status, follow_up_outcome FROM ${quoteIdent(schema)}.effects WHERE entity_id = 'u' AND type = 'chargePayment'`,
    );
    expect(followUps).toEqual(Array.from({ length: 1 + renewed }, () => ({ status: 'completed', follow_up_outcome: null })));
    // Deferred work is not recorded as rejections (only the send and the queued event are).
    expect((await tg.rejections('subscription', 'u')).map((r) => r.code)).toEqual(['TG_FROZEN', 'TG_FROZEN']);
    expect(await tg.rejections('subscription', 't')).toEqual([]);

    await admin.governance.unfreeze(freeze.id, { actor: 'oncall', reason: 'over' });
    await eventually(async () => (await tg.get('subscription', 't')).state === 'canceled', 15_000, 'the timer after the unfreeze');
    await eventually(async () => (await tg.get('subscription', 'u')).context.payments === 1 + renewed, 15_000, 'the follow-ups after the unfreeze');
    expect(await tg.timers('subscription', 't')).toMatchObject([{ status: 'fired' }]);
  });
});
