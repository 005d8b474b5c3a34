import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { effectStore } from '../../src/store/effect-store.ts';
import { testRuntime } from '../support/databases.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

describe('effect store', () => {
  it('records one run of an effect run twice at once, in one batch: the run it credits is the run it writes', async () => {
    const tg = await testRuntime('postgres', { machines, maxConnections: 4 });
    await tg.create('subscription', 's1', { customerId: 'c1', plan: 'pro' });
    await tg.send('subscription', 's1', { type: 'UPGRADE', paymentMethodId: 'pm_1' });
    const [effect] = await tg.effects('subscription', 's1');
    const store = effectStore(testAccess(tg).client, testAccess(tg).schema);
    const at = new Date();
    // Three concurrent runs of one effect settle in the same turn: one batch, one statement.
    const credited = await Promise.all([
      store.record({ id: effect!.id, status: 'failed', error: { message: 'declined' }, at }),
      store.record({ id: effect!.id, status: 'completed', result: { chargeId: 'ch_b' }, at }),
      store.record({ id: effect!.id, status: 'completed', result: { chargeId: 'ch_c' }, at }),
    ]);
    expect(credited).toEqual([true, false, false]);
    const [row] = await tg.effects('subscription', 's1');
    expect(row).toMatchObject({ status: 'failed', attempts: 1, result: null });
    // Settled: a later run records nothing.
    expect(await store.record({ id: effect!.id, status: 'completed', at })).toBe(false);
  });
});
