import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { machines } from '../../machines/index.ts';
import { machines as release2 } from '../../examples/evolution/machines-v2.ts';
import { subscriptionV2 } from '../../examples/evolution/subscription-v2.ts';
import { migrateEntities } from '../../src/runtime/migrate-entities.ts';
import { defineMachine } from '../../src/engine/definition.ts';
import { backends } from '../support/databases.ts';
import { fireDueTimers, releaseDatabase } from '../support/evolution.ts';
import { DAY, start } from '../support/subscriptions.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

// Release 2 whose migration throws for one customer: what a bad migration does.
const brokenRelease2 = {
  ...release2,
  subscription: defineMachine({
    ...subscriptionV2,
    migrations: {
      1: (s) => {
        if (s.context.customerId === 'c-bad') throw new Error('no notice level for this customer');
        return subscriptionV2.migrations![1]!(s);
      },
    },
  }),
};

describe.each(backends())('snapshot migrations on %s', (backend) => {
  const clock = new ManualClock(start);
  let db: Awaited<ReturnType<typeof releaseDatabase>>;

  beforeAll(async () => {
    db = await releaseDatabase(backend);
    const v1 = await db.open(machines, clock);
    const customer = (id: string) => ({ customerId: `c-${id}`, plan: 'pro', gracePeriodMs: 4 * DAY });
    for (const id of ['lazy', 'bad', 'g1', 'g2', 'act', 'trial']) await v1.create('subscription', id, customer(id));
    for (const id of ['lazy', 'bad', 'g1', 'g2', 'act']) await v1.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm' });
    clock.advance(DAY);
    for (const id of ['lazy', 'bad', 'g1', 'g2']) await v1.send('subscription', id, { type: 'PAYMENT_FAILED' });
    await v1.create('subscription', 'tick', { customerId: 'c-tick', plan: 'pro', paymentMethodId: 'pm', gracePeriodMs: DAY });
    await v1.send('subscription', 'tick', { type: 'RENEW' }).catch(() => {}); // still in trial: refused, fine
    await v1.send('subscription', 'tick', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await v1.send('subscription', 'tick', { type: 'PAYMENT_FAILED' });
    clock.advance(DAY);
  }, 120_000);
  afterAll(() => db.close());

  it('migrates lazily: reads show the new version, a send commits $migrated before its event, timers re-derived', async () => {
    const v2 = await db.open(release2, clock);
    const before = await v2.history('subscription', 'lazy');
    expect(await v2.get('subscription', 'lazy')).toMatchObject({ state: 'grace.first_notice', machineVersion: 2, version: 3 });
    expect(await v2.history('subscription', 'lazy')).toEqual(before); // a read writes nothing

    const result = await v2.send('subscription', 'lazy', { type: 'PAYMENT_SUCCEEDED' });
    expect(result.entity).toMatchObject({ state: 'active', version: 5, machineVersion: 2 });
    const history = await v2.history('subscription', 'lazy');
    expect(history.map((t) => [t.seq, t.eventType, t.fromState, t.toState, t.machineVersion])).toEqual([
      [1, 'xstate.init', null, 'trial', 1],
      [2, 'UPGRADE', 'trial', 'active', 1],
      [3, 'PAYMENT_FAILED', 'active', 'grace', 1],
      [4, '$migrated', 'grace', 'grace.first_notice', 2],
      [5, 'PAYMENT_SUCCEEDED', 'grace.first_notice', 'active', 2],
    ]);
    expect(history[3]?.event).toMatchObject({
      from: 1,
      to: 2,
      timers: [
        { sendId: 'xstate.after.gracePeriod.subscription.grace', action: 'cancelled' },
        { sendId: 'xstate.after.firstNotice.subscription.grace.first_notice', action: 'armed', dueAt: new Date(start + 3 * DAY).toISOString() },
      ],
    });
    const timers = await v2.timers('subscription', 'lazy');
    expect(timers.filter((t) => t.status === 'scheduled')).toEqual([]);
    expect(timers.map((t) => [t.eventType, t.status])).toContainEqual(['xstate.after.firstNotice.subscription.grace.first_notice', 'cancelled']);
  });

  it('a timer of the old version that fires migrates the entity; the new version\'s timers take over', async () => {
    const v2 = await db.open(release2, clock);
    await fireDueTimers(v2, clock); // tick's one-day grace timer of release 1 is due now; so is its first notice
    clock.advance(DAY / 2); // the final notice's timer runs from when the first notice fired
    await fireDueTimers(v2, clock);
    const history = await v2.history('subscription', 'tick');
    expect(history.slice(3).map((t) => [t.eventType, t.toState])).toEqual([
      ['$migrated', 'grace.first_notice'],
      ['xstate.after.firstNotice.subscription.grace.first_notice', 'grace.final_notice'],
      ['xstate.after.finalNotice.subscription.grace.final_notice', 'canceled'],
    ]);
    expect((await v2.timers('subscription', 'tick')).find((t) => t.eventType === 'xstate.after.gracePeriod.subscription.grace')?.status).toBe('cancelled');
    expect((await v2.effects('subscription', 'tick')).map((e) => e.params.template).filter(Boolean)).toEqual(['payment_failed', 'final_notice', 'cancellation']);
  });

  it('a migration that throws leaves the entity untouched, records it, and a bulk run reports it', async () => {
    const broken = await db.open(brokenRelease2, clock);
    await expect(broken.send('subscription', 'bad', { type: 'PAYMENT_SUCCEEDED' })).rejects.toMatchObject({ code: 'TG_MIGRATION_FAILED' });
    expect(await broken.history('subscription', 'bad')).toHaveLength(3);
    expect((await broken.rejections('subscription', 'bad')).map((r) => r.code)).toEqual(['TG_MIGRATION_FAILED']);
    const bulk = await migrateEntities(testAccess(broken).context, 'subscription', { dryRun: true, maxFailures: 0, batch: 1 });
    // 'act' sorts first and would migrate; 'bad' fails and stops the run (maxFailures 0) before 'g1'.
    expect(bulk).toMatchObject({ migrated: 1, failed: 1, stopped: true, failures: [{ id: 'bad', state: 'grace', code: 'TG_MIGRATION_FAILED' }] });
    expect(await broken.history('subscription', 'bad')).toHaveLength(3);
  });

  it('migrates in bulk: counts per (version, from, to), timers re-derived, nothing left for a second run', async () => {
    const v2 = await db.open(release2, clock);
    const dry = await migrateEntities(testAccess(v2).context, 'subscription', { dryRun: true, batch: 2, maxFailures: 5 });
    expect(await v2.history('subscription', 'g1')).toHaveLength(3); // the dry run wrote nothing
    const run = await migrateEntities(testAccess(v2).context, 'subscription', { batch: 2, maxFailures: 5 });
    for (const report of [dry, run]) {
      expect(report).toMatchObject({ total: 5, migrated: 5, failed: 0, stopped: false });
      expect(report.counts).toEqual([
        { fromVersion: 1, fromState: 'active', toState: 'active', n: 1 },
        { fromVersion: 1, fromState: 'grace', toState: 'grace.first_notice', n: 3 },
        { fromVersion: 1, fromState: 'trial', toState: 'trial', n: 1 },
      ]);
      expect(report.timers).toEqual({ kept: 1, rearmed: 0, cancelled: 3, armed: 3 });
    }
    expect((await v2.history('subscription', 'g1')).at(-1)).toMatchObject({ seq: 4, eventType: '$migrated', toState: 'grace.first_notice', machineVersion: 2 });
    expect((await migrateEntities(testAccess(v2).context, 'subscription')).total).toBe(0); // nothing left to migrate

    clock.advance(DAY); // past the first notice, due half of the 4-day grace after the grace entry
    await fireDueTimers(v2, clock);
    expect(await v2.get('subscription', 'g2')).toMatchObject({ state: 'grace.final_notice' });
    const emails = (await v2.effects('subscription', 'g2')).map((e) => e.params.template).filter(Boolean);
    expect(emails).toEqual(['payment_failed', 'final_notice']);
  });
});
