import { afterEach, describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { registerDemoHandlers } from '../../machines/demo-handlers.ts';
import { ManualClock } from '../../src/clock.ts';
import { timerJob } from '../../src/timers/scheduler.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { testRuntime } from '../support/databases.ts';
import { eventually, stopAll, testProcesses, transportKinds } from '../support/processes.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

afterEach(stopAll);

const DAY = 24 * 3600_000;
const N = 12;

// The seed's three stories, end to end with workers running, under duplicate deliveries and concurrent writers.
describe.each(transportKinds())('the seed stories on %s', (kind) => {
  async function world(failureRate: number, except: string[] = []) {
    const clock = new ManualClock(Date.parse('2026-05-01T00:00:00Z'));
    const tg = await testRuntime('postgres', { machines, clock, maxConnections: 6 });
    registerDemoHandlers(tg, { failureRate, seed: 7, except });
    const processes = await testProcesses(tg, kind);
    const s = quoteIdent(testAccess(tg).schema);
    const q = <T extends object>(sql: string, params: unknown[] = []) => testAccess(tg).client.query<T>(sql, params);
    const quiet = () =>
      eventually(async () => {
        const [row] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.effects WHERE status IN ('pending', 'dispatched') OR (follow_up IS NOT NULL AND follow_up_outcome IS NULL)`);
        return row?.n === 0;
      }, 20_000, 'every effect to settle');
    /** Every effect and timer job delivered again (BullMQ re-adds, a sweeper race): nothing may change. */
    const redeliverEverything = async () => {
      const effects = await q<{ id: string; machine: string; entity_id: string; type: string }>(`SELECT id, machine, entity_id, type FROM ${s}.effects`);
      await processes.transport.add('effects', effects.map((e) => ({ id: e.id, data: { effectId: e.id, machine: e.machine, entityId: e.entity_id, type: e.type } })));
      const timers = await q<{ id: string; machine: string; entity_id: string; due_at: Date }>(`SELECT id, machine, entity_id, due_at FROM ${s}.timers`);
      await processes.transport.add('timers', timers.map(timerJob));
      await new Promise((r) => setTimeout(r, 500));
      await quiet();
    };
    const snapshot = async () => ({
      charges: await q(`SELECT idempotency_key, status FROM ${s}.demo_charges ORDER BY 1`),
      emails: await q(`SELECT effect_id, template FROM ${s}.demo_emails ORDER BY 1`),
      transitions: await q(`SELECT id FROM ${s}.transitions ORDER BY 1`),
    });
    const ids = Array.from({ length: N }, (_, i) => `sub-${i}`);
    return { clock, tg, s, q, quiet, redeliverEverything, snapshot, ids };
  }

  it('never charges a grace customer twice', async () => {
    const w = await world(0);
    for (const id of w.ids) {
      await w.tg.create('subscription', id, { customerId: id, plan: 'pro', paymentMethodId: 'pm' });
      await w.tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm' });
    }
    await w.quiet();
    // Concurrent writers: the provider's PAYMENT_FAILED webhook delivered three times at once (same event id).
    const sent = await Promise.all(w.ids.flatMap((id) => [1, 2, 3].map(() => w.tg.send('subscription', id, { type: 'PAYMENT_FAILED' }, { idempotencyKey: `pf-${id}` }))));
    expect(sent.filter((r) => !r.replayed)).toHaveLength(N);
    await w.quiet();
    const before = await w.snapshot();
    await w.redeliverEverything();
    expect(await w.snapshot()).toEqual(before);
    const dunning = await w.q<{ entity_id: string; n: number; charged: number }>(
      `SELECT e.entity_id, count(*)::int AS n, count(c.idempotency_key)::int AS charged FROM ${w.s}.effects e
       LEFT JOIN ${w.s}.demo_charges c ON c.idempotency_key = e.id
       WHERE e.type = 'chargePayment' AND e.params->>'reason' = 'dunning_retry' GROUP BY 1`,
    );
    expect(dunning).toHaveLength(N);
    expect(dunning.every((d) => d.n === 1 && d.charged === 1)).toBe(true);
    const [perCustomer] = await w.q<{ max: number }>(`SELECT max(n)::int AS max FROM (SELECT customer_id, count(*) AS n FROM ${w.s}.demo_charges GROUP BY 1) x`);
    expect(perCustomer?.max).toBe(2); // the upgrade and the one dunning retry
  }, 60_000);

  it('never lets a paused account reach active without a successful charge', async () => {
    const w = await world(0.5);
    for (const id of w.ids) {
      await w.tg.create('subscription', id, { customerId: id, plan: 'pro', paymentMethodId: 'pm' });
      await w.tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm' });
    }
    await w.quiet();
    const active = [];
    for (const id of w.ids) if ((await w.tg.get('subscription', id)).state === 'active') active.push(id);
    for (const id of active) await w.tg.send('subscription', id, { type: 'PAUSE' });
    // Concurrent writers: three RESUME per account at once.
    await Promise.allSettled(active.flatMap((id) => [1, 2, 3].map((k) => w.tg.send('subscription', id, { type: 'RESUME' }, { idempotencyKey: `res-${id}-${k}` }))));
    await w.quiet();
    await w.redeliverEverything();
    // Every paused -> active transition is the follow-up of a resume charge the provider accepted.
    const reactivations = await w.q<{ entity_id: string; idempotency_key: string | null; status: string | null; reason: string | null }>(
      `SELECT t.entity_id, t.idempotency_key, c.status, e.params->>'reason' AS reason FROM ${w.s}.transitions t
       LEFT JOIN ${w.s}.demo_charges c ON c.idempotency_key = t.idempotency_key
       LEFT JOIN ${w.s}.effects e ON e.id = t.idempotency_key
       WHERE t.from_state LIKE 'paused%' AND t.to_state = 'active'`,
    );
    expect(reactivations.length).toBeGreaterThan(0);
    expect(reactivations.every((r) => r.status === 'succeeded' && r.reason === 'resume')).toBe(true);
    const declinedResumes = await w.q<{ entity_id: string }>(
      `SELECT e.entity_id FROM ${w.s}.effects e JOIN ${w.s}.demo_charges c ON c.idempotency_key = e.id
       WHERE e.params->>'reason' = 'resume' AND c.status = 'declined'`,
    );
    expect(declinedResumes.length).toBeGreaterThan(0); // the 50% provider declined some
    // A declined resume leaves the account paused, unless a later RESUME (another writer) was charged successfully.
    for (const { entity_id } of declinedResumes) {
      const state = (await w.tg.get('subscription', entity_id)).state;
      if (!state.startsWith('paused')) expect(reactivations.map((r) => r.entity_id)).toContain(entity_id);
    }
  }, 60_000);

  it('never sends a cancellation email for an already-canceled subscription', async () => {
    const w = await world(0, ['chargePayment']);
    // Half in grace (their grace timer still pending), half active.
    w.tg.effect('chargePayment', async (ctx) => (ctx.params.reason === 'dunning_retry' ? { result: 'pending-bank' } : { event: { type: 'PAYMENT_SUCCEEDED' } }));
    for (const [i, id] of w.ids.entries()) {
      await w.tg.create('subscription', id, { customerId: id, plan: 'pro', paymentMethodId: 'pm' });
      await w.tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm' });
      if (i % 2 === 0) await w.tg.send('subscription', id, { type: 'PAYMENT_FAILED' });
    }
    await w.quiet();
    // Concurrent writers: three CANCEL per subscription (support agent, customer, a retry), one wins.
    const results = await Promise.allSettled(w.ids.flatMap((id) => [1, 2, 3].map((k) => w.tg.send('subscription', id, { type: 'CANCEL' }, { idempotencyKey: `cancel-${id}-${k}` }))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(N);
    await w.quiet();
    // The grace period passes: cancelled timers must not send a second cancellation email.
    w.clock.advance(8 * DAY);
    await new Promise((r) => setTimeout(r, 500));
    await w.redeliverEverything();
    const cancellations = await w.q<{ customer_id: string; n: number }>(
      `SELECT customer_id, count(*)::int AS n FROM ${w.s}.demo_emails WHERE template = 'cancellation' GROUP BY 1`,
    );
    expect(cancellations).toHaveLength(N);
    expect(cancellations.every((c) => c.n === 1)).toBe(true);
    for (const id of w.ids) expect((await w.tg.get('subscription', id)).state).toBe('canceled');
    expect(await w.tg.metricsText()).toMatch(/tollgate_timers_stale_total\{machine="subscription",reason="cancelled"\} [1-9]/);
  }, 60_000);
});
