import { describe, expect, it } from 'vitest';
import { backends } from '../support/databases.ts';
import { DAY, activeSubscription, start, subscriptionRuntime } from '../support/subscriptions.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

describe.each(backends())('timer rows on %s', (backend) => {
  it('create schedules the trial timer from context and the injected clock', async () => {
    const { tg } = await subscriptionRuntime(backend);
    await tg.create('subscription', 's1', { customerId: 'c', plan: 'pro', trialPeriodMs: 3 * DAY });
    const timers = await tg.timers('subscription', 's1');
    expect(timers).toMatchObject([
      { eventType: 'xstate.after.trialPeriod.subscription.trial', status: 'scheduled', dueAt: new Date(start + 3 * DAY).toISOString() },
    ]);
  });

  it('entering grace writes one timer; leaving grace before it is due cancels it in the same commit', async () => {
    const { tg, clock } = await subscriptionRuntime(backend);
    await activeSubscription(tg, 's1');
    const [trial] = await tg.timers('subscription', 's1');
    expect(trial?.status).toBe('cancelled'); // UPGRADE left trial

    clock.advance(DAY);
    const failed = await tg.send('subscription', 's1', { type: 'PAYMENT_FAILED' });
    const grace = (await tg.timers('subscription', 's1')).filter((t) => t.transitionId === failed.transition.id);
    expect(grace).toMatchObject([{ eventType: 'xstate.after.gracePeriod.subscription.grace', status: 'scheduled', dueAt: new Date(start + 8 * DAY).toISOString() }]);

    clock.advance(DAY);
    const paid = await tg.send('subscription', 's1', { type: 'PAYMENT_SUCCEEDED' });
    const after = (await tg.timers('subscription', 's1')).find((t) => t.id === grace[0]?.id);
    expect(after).toMatchObject({ status: 'cancelled', settledAt: paid.transition.createdAt });
  });

  it('a fired timer is marked fired in the commit of its event, and re-delivery replays', async () => {
    const { tg, clock } = await subscriptionRuntime(backend);
    await activeSubscription(tg, 's1');
    await tg.send('subscription', 's1', { type: 'PAYMENT_FAILED' });
    const timer = (await tg.timers('subscription', 's1')).find((t) => t.status === 'scheduled');
    if (!timer) throw new Error('no grace timer');
    clock.advance(7 * DAY);
    const fire = () => testAccess(tg).send('subscription', 's1', { type: timer.eventType }, { internal: true, firedTimerId: timer.id, idempotencyKey: timer.id });
    const fired = await fire();
    expect(fired.entity.state).toBe('canceled');
    expect((await tg.timers('subscription', 's1')).find((t) => t.id === timer.id)).toMatchObject({ status: 'fired', settledAt: fired.transition.createdAt });
    const again = await fire();
    expect(again).toMatchObject({ replayed: true, transition: { id: fired.transition.id } });
    const emails = (await tg.effects('subscription', 's1')).filter((e) => e.params.template === 'cancellation');
    expect(emails).toHaveLength(1);
  });
});
