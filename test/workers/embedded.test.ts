import { afterEach, describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { registerDemoHandlers } from '../../machines/demo-handlers.ts';
import { ManualClock } from '../../src/clock.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { testRuntime } from '../support/databases.ts';
import { eventually, stopAll, testProcesses } from '../support/processes.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

afterEach(stopAll);

// `tollgate dev`: embedded PGlite (one connection) + the in-process transport, one process.
describe('embedded mode (PGlite + in-process)', () => {
  it('runs effects, follow-ups, compensations, timers and queued events', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const tg = await testRuntime('pglite', { machines, clock });
    registerDemoHandlers(tg, { failureRate: 0 });
    await testProcesses(tg, 'in-process');
    await tg.create('subscription', 'e1', { customerId: 'e1', plan: 'pro', paymentMethodId: 'pm' });
    await tg.create('subscription', 'e2', { customerId: 'e2', plan: 'pro' });
    const upgrade = await tg.enqueue('subscription', 'e1', { type: 'UPGRADE', paymentMethodId: 'pm' }, { idempotencyKey: 'u' });
    expect(await upgrade.outcome()).toMatchObject({ status: 'accepted', state: 'active' });
    await eventually(async () => (await tg.get('subscription', 'e1')).context.payments === 1, 10_000, 'the charge follow-up');
    clock.advance(15 * 24 * 3600_000);
    await eventually(async () => (await tg.get('subscription', 'e2')).state === 'canceled', 10_000, 'the trial timer');
    const s = quoteIdent(testAccess(tg).schema);
    await eventually(async () => (await testAccess(tg).client.query(`SELECT 1 FROM ${s}.demo_emails WHERE customer_id = 'e2'`)).length === 1);
    expect(await testAccess(tg).client.query(`SELECT template, calls FROM ${s}.demo_emails`)).toEqual([{ template: 'trial_expired', calls: 1 }]);
    expect(await testAccess(tg).client.query(`SELECT customer_id, status, calls FROM ${s}.demo_charges`)).toEqual([{ customer_id: 'e1', status: 'succeeded', calls: 1 }]);
  });
});
