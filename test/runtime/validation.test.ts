import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { z } from 'zod';
import { createTollgate, defineMachine, type Policy } from '../../src/index.ts';
import { machines, subscription } from '../../machines/index.ts';
import { backends, postgresAvailable, testDatabaseUrl, testRuntime } from '../support/databases.ts';
import { activeSubscription, footprint, subscriptionRuntime } from '../support/subscriptions.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

describe.each(backends())('bad input changes nothing on %s', (backend) => {
  it.each([
    ['unknown event type', { type: 'REFUND' }, 'TG_INVALID_EVENT', /not an event of machine 'subscription'.*Known events: UPGRADE/],
    ['internal event type from a caller', { type: 'xstate.after.gracePeriod.subscription.grace' }, 'TG_INVALID_EVENT', /not an event/],
    ['missing type', { paymentMethodId: 'x' }, 'TG_INVALID_EVENT', /no string 'type'/],
    ['payload of the wrong type', { type: 'UPGRADE', paymentMethodId: 42 }, 'TG_INVALID_EVENT', /'paymentMethodId'/],
    ['unknown payload field', { type: 'RENEW', amountCents: 1 }, 'TG_INVALID_EVENT', /invalid payload/],
  ])('%s -> %s', async (_name, event, code, message) => {
    const { tg } = await subscriptionRuntime(backend);
    await activeSubscription(tg, 's1');
    const before = await footprint(tg, 'subscription', 's1');
    const error = await testAccess(tg).send('subscription', 's1', event).catch((e: unknown) => e);
    expect(error).toMatchObject({ code, status: 400 });
    expect((error as Error).message).toMatch(message);
    expect(await footprint(tg, 'subscription', 's1')).toEqual(before);
  });

  it('ids, keys and inputs are checked before anything is read or written', async () => {
    const { tg } = await subscriptionRuntime(backend);
    await expect(tg.create('subscription', 'x'.repeat(201), { customerId: 'c', plan: 'p' })).rejects.toMatchObject({ code: 'TG_INVALID_ARGUMENT' });
    await expect(tg.create('subscription', '', { customerId: 'c', plan: 'p' })).rejects.toMatchObject({ code: 'TG_INVALID_ARGUMENT' });
    await expect(tg.create('subscription', 'ok', { customerId: 'c', plan: 'p' }, { idempotencyKey: 'a\nb' })).rejects.toMatchObject({ code: 'TG_INVALID_ARGUMENT' });
    await expect(tg.create('subscription', 'ok', { customerId: '', plan: 'p' })).rejects.toMatchObject({ code: 'TG_INVALID_INPUT', details: { field: 'customerId' } });
    await expect(testAccess(tg).send('invoice', 'ok', { type: 'X' })).rejects.toMatchObject({ code: 'TG_UNKNOWN_MACHINE' });
    await expect(tg.send('subscription', 'missing', { type: 'RENEW' })).rejects.toMatchObject({ code: 'TG_ENTITY_NOT_FOUND' });
    await expect(tg.get('subscription', 'ok')).rejects.toMatchObject({ code: 'TG_ENTITY_NOT_FOUND' });
    // SQL-looking and unicode ids are just ids.
    const odd = "'; DROP TABLE entities; -- ✓ 雪";
    await tg.create('subscription', odd, { customerId: 'c', plan: 'p' });
    expect((await tg.get('subscription', odd)).id).toBe(odd);
  });

  it('history pages with afterSeq and limit', async () => {
    const { tg } = await subscriptionRuntime(backend);
    await activeSubscription(tg, 's1');
    for (let i = 0; i < 5; i++) await tg.send('subscription', 's1', { type: 'RENEW' });
    const page1 = await tg.history('subscription', 's1', { limit: 3 });
    const page2 = await tg.history('subscription', 's1', { afterSeq: page1.at(-1)?.seq, limit: 3 });
    expect([...page1, ...page2].map((t) => t.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(page1[0]).toMatchObject({ eventType: 'xstate.init', fromState: null, toState: 'trial' });
  });

  it('a policy denial is recorded and counted and writes nothing else', async () => {
    const policy: Policy = {
      version: 'holds-v1',
      check: ({ event, entity }) =>
        event.type === 'RENEW' && entity.context.customerId === 'cust-held' ? { allow: false, reason: 'regulatory hold' } : { allow: true },
    };
    const tg = await testRuntime(backend, { machines, policy });
    await activeSubscription(tg, 'held');
    const before = await footprint(tg, 'subscription', 'held');
    await expect(tg.send('subscription', 'held', { type: 'RENEW' })).rejects.toMatchObject({ code: 'TG_POLICY_DENIED', details: { reason: 'regulatory hold' } });
    expect(await footprint(tg, 'subscription', 'held')).toEqual(before);
    expect((await tg.rejections('subscription', 'held')).map((r) => r.code)).toEqual(['TG_POLICY_DENIED']);
    expect(await tg.metricsText()).toMatch(/tollgate_rejections_total\{[^}]*code="TG_POLICY_DENIED"[^}]*\} 1/);
    const ok = await tg.send('subscription', 'held', { type: 'PAUSE' });
    expect(ok.transition.policyVersion).toBe('holds-v1');
  });

  it('a closed runtime refuses calls with TG_CLOSED', async () => {
    const tg = await testRuntime(backend, { machines: { subscription } });
    await tg.close();
    await expect(tg.get('subscription', 's1')).rejects.toMatchObject({ code: 'TG_CLOSED' });
  });
});

describe.runIf(postgresAvailable())('machine upgrades', () => {
  it('a stored snapshot the machine no longer fits is TG_SNAPSHOT_INCOMPATIBLE, naming entity, version and state', async () => {
    const tg = await testRuntime('postgres', { machines });
    await activeSubscription(tg, 's1');
    // Version 2 of the machine dropped the `active` state.
    const v2 = defineMachine({
      machine: createMachine({ id: 'subscription', initial: 'trial', states: { trial: {}, canceled: { type: 'final' } } }),
      version: 2,
      input: z.object({}),
      events: { CANCEL: z.strictObject({}) },
    });
    const later = await createTollgate({ machines: { ...machines, subscription: v2 }, database: { url: await testDatabaseUrl() }, schema: testAccess(tg).schema });
    try {
      const error = await later.send('subscription', 's1', { type: 'CANCEL' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TG_SNAPSHOT_INCOMPATIBLE', details: { entityId: 's1', machineVersion: 1 } });
      expect((error as Error).message).toMatch(/subscription\/s1 \(machine version 1\).*'active'/);
      expect((await tg.history('subscription', 's1')).length).toBe(2);
    } finally {
      await later.close();
    }
  });
});

describe('an unreachable database', () => {
  it('is TG_DATABASE_UNAVAILABLE (retryable), naming host and port', async () => {
    const tg = await createTollgate({ machines, database: { url: 'postgres://postgres@127.0.0.1:1/none' } });
    try {
      const error = await tg.get('subscription', 's1').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TG_DATABASE_UNAVAILABLE', retryable: true, status: 503 });
      expect((error as Error).message).toContain('127.0.0.1:1');
    } finally {
      await tg.close();
    }
  });
});
