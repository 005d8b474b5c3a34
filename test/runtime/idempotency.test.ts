import { describe, expect, it } from 'vitest';
import { isTollgateError } from '../../src/index.ts';
import { backends } from '../support/databases.ts';
import { activeSubscription, footprint, subscriptionRuntime } from '../support/subscriptions.ts';

describe.each(backends())('idempotency on %s', (backend) => {
  it('a replay returns the stored result, even after the entity moved on, and writes nothing', async () => {
    const { tg } = await subscriptionRuntime(backend);
    await activeSubscription(tg, 's1');
    const first = await tg.send('subscription', 's1', { type: 'RENEW' }, { idempotencyKey: 'renew-1' });
    await tg.send('subscription', 's1', { type: 'PAUSE' });
    const before = await footprint(tg, 'subscription', 's1');

    const replay = await tg.send('subscription', 's1', { type: 'RENEW' }, { idempotencyKey: 'renew-1' });

    expect(replay.replayed).toBe(true);
    expect(replay.transition.id).toBe(first.transition.id);
    expect(replay.transition.seq).toBe(first.transition.seq);
    expect(replay.entity).toEqual(first.entity);
    expect(replay.entity.state).toBe('active'); // as it was after the original commit, not 'paused.idle'
    expect(await footprint(tg, 'subscription', 's1')).toEqual(before);
  });

  it('a cold runtime (empty cache) replays the same way', async () => {
    const { tg } = await subscriptionRuntime(backend, { snapshotCacheSize: 0 });
    await activeSubscription(tg, 's1');
    const first = await tg.send('subscription', 's1', { type: 'RENEW' }, { idempotencyKey: 'k' });
    const again = await tg.send('subscription', 's1', { type: 'RENEW' }, { idempotencyKey: 'k' });
    expect(again).toMatchObject({ replayed: true, transition: { id: first.transition.id } });
    expect((await tg.effects('subscription', 's1')).filter((e) => e.params.reason === 'renewal')).toHaveLength(1);
  });

  it('the same key with another payload is TG_IDEMPOTENCY_KEY_REUSED and changes nothing', async () => {
    const { tg } = await subscriptionRuntime(backend);
    await activeSubscription(tg, 's1');
    await tg.send('subscription', 's1', { type: 'PAYMENT_SUCCEEDED', chargeId: 'ch_1' }, { idempotencyKey: 'pay' });
    const before = await footprint(tg, 'subscription', 's1');
    const error = await tg
      .send('subscription', 's1', { type: 'PAYMENT_SUCCEEDED', chargeId: 'ch_2' }, { idempotencyKey: 'pay' })
      .catch((e: unknown) => e);
    expect(isTollgateError(error, 'TG_IDEMPOTENCY_KEY_REUSED')).toBe(true);
    const other = await tg.send('subscription', 's1', { type: 'RENEW' }, { idempotencyKey: 'pay' }).catch((e: unknown) => e);
    expect(isTollgateError(other, 'TG_IDEMPOTENCY_KEY_REUSED')).toBe(true);
    expect(await footprint(tg, 'subscription', 's1')).toEqual(before);
  });

  it('keys are scoped to the entity', async () => {
    const { tg } = await subscriptionRuntime(backend);
    await activeSubscription(tg, 'a');
    await activeSubscription(tg, 'b');
    const a = await tg.send('subscription', 'a', { type: 'RENEW' }, { idempotencyKey: 'same' });
    const b = await tg.send('subscription', 'b', { type: 'RENEW' }, { idempotencyKey: 'same' });
    expect(a.replayed || b.replayed).toBe(false);
    expect(a.transition.id).not.toBe(b.transition.id);
  });

  it('20 concurrent sends with one key commit exactly one transition', async () => {
    const { tg } = await subscriptionRuntime(backend, { maxConnections: 20 });
    await activeSubscription(tg, 's1');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => tg.send('subscription', 's1', { type: 'RENEW' }, { idempotencyKey: 'once' })),
    );
    const ids = new Set(results.map((r) => r.transition.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    const history = await tg.history('subscription', 's1');
    expect(history.filter((t) => t.idempotencyKey === 'once')).toHaveLength(1);
    expect(history).toHaveLength(3);
    expect((await tg.effects('subscription', 's1')).filter((e) => e.params.reason === 'renewal')).toHaveLength(1);
  });

  it('create: an existing id is TG_ENTITY_EXISTS unless the same key and input replay it', async () => {
    const { tg } = await subscriptionRuntime(backend);
    const input = { customerId: 'c1', plan: 'pro' };
    const created = await tg.create('subscription', 's1', input, { idempotencyKey: 'create-s1' });
    expect(created.replayed).toBe(false);
    await tg.send('subscription', 's1', { type: 'UPGRADE', paymentMethodId: 'pm' });

    const again = await tg.create('subscription', 's1', input, { idempotencyKey: 'create-s1' });
    expect(again).toMatchObject({ replayed: true, state: 'trial', version: 1 });
    await expect(tg.create('subscription', 's1', input)).rejects.toMatchObject({ code: 'TG_ENTITY_EXISTS' });
    await expect(tg.create('subscription', 's1', input, { idempotencyKey: 'other' })).rejects.toMatchObject({ code: 'TG_ENTITY_EXISTS' });
    await expect(tg.create('subscription', 's1', { ...input, plan: 'team' }, { idempotencyKey: 'create-s1' })).rejects.toMatchObject({
      code: 'TG_IDEMPOTENCY_KEY_REUSED',
    });
    expect((await tg.get('subscription', 's1')).version).toBe(2);
  });

  it('10 concurrent creates of one id: one entity, one creation, the others exist or replay', async () => {
    const { tg } = await subscriptionRuntime(backend, { maxConnections: 10 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => tg.create('subscription', 'x', { customerId: 'c', plan: 'pro' }, { idempotencyKey: i < 5 ? 'k' : `k${i}` })),
    );
    const created = outcomes.filter((o) => o.status === 'fulfilled' && !o.value.replayed);
    expect(created).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'TG_ENTITY_EXISTS' });
    }
    expect(await tg.history('subscription', 'x')).toHaveLength(1);
  });
});
