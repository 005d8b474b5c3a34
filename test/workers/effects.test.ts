import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { machines, subscription } from '../../machines/index.ts';
import { RetryableError, TerminalError } from '../../src/effects/errors.ts';
import { effectJob } from '../../src/outbox/effect-job.ts';
import { sweepEffects } from '../../src/outbox/sweeper.ts';
import { inProcessTransport } from '../../src/jobs/transports/in-process.ts';
import type { EffectContext } from '../../src/effects/registry.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { testRuntime } from '../support/databases.ts';
import { eventually, quietLogger, stopAll, testProcesses, transportKinds } from '../support/processes.ts';
import { testAccess } from '../../src/runtime/test-access.ts';
import { portsOf } from '../../src/runtime/ports.ts';

afterEach(stopAll);

const effectRows = (tg: Awaited<ReturnType<typeof runtime>>, id: string) =>
  testAccess(tg).client.query<{ type: string; status: string; attempts: number; follow_up: unknown; follow_up_outcome: { status: string; code?: string } | null; compensated: boolean }>(
    `SELECT type, status, attempts, follow_up, follow_up_outcome, compensated FROM ${quoteIdent(testAccess(tg).schema)}.effects WHERE entity_id = $1::text ORDER BY seq, idx`,
    [id],
  );

function runtime() {
  return testRuntime('postgres', { machines, maxConnections: 4 });
}

describe.each(transportKinds())('effect workers on %s', (kind) => {
  it('runs a committed effect once, records its result and applies its follow-up event once', async () => {
    const tg = await runtime();
    const calls: EffectContext<unknown>[] = [];
    tg.effect('chargePayment', async (ctx) => {
      calls.push(ctx);
      return { result: { chargeId: `ch_${ctx.effectId}` }, event: { type: 'PAYMENT_SUCCEEDED', chargeId: `ch_${ctx.effectId}` } };
    });
    await testProcesses(tg, kind);
    await tg.create('subscription', 's1', { customerId: 'c1', plan: 'pro' });
    await tg.send('subscription', 's1', { type: 'UPGRADE', paymentMethodId: 'pm_1' });
    await eventually(async () => (await tg.get('subscription', 's1')).context.payments === 1, 10_000, 'the payment to be recorded');
    const [effect] = await tg.effects('subscription', 's1');
    expect(effect).toMatchObject({ type: 'chargePayment', status: 'completed', attempts: 1, result: { chargeId: `ch_${effect?.id}` } });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ effectId: effect?.id, machine: 'subscription', entityId: 's1', attempt: 1, params: { customerId: 'c1', amountCents: 2900, reason: 'upgrade' } });
    expect((await calls[0]!.entity()).state).toBe('active');
    expect(calls[0]!.signal.aborted).toBe(false);
    await eventually(async () => (await effectRows(tg, 's1'))[0]?.follow_up_outcome != null);
    expect((await effectRows(tg, 's1'))[0]?.follow_up_outcome).toMatchObject({ status: 'committed' });
    const history = await tg.history('subscription', 's1');
    expect(history.map((t) => t.eventType)).toEqual(['xstate.init', 'UPGRADE', 'PAYMENT_SUCCEEDED'].slice(history[0]?.eventType === 'xstate.init' ? 0 : 1));
    expect(history.at(-1)).toMatchObject({ idempotencyKey: effect?.id, actor: 'effect/chargePayment' });
  });
});

describe.each(transportKinds())('effect failures and deliveries on %s', (kind) => {
  const upgraded = async (tg: Awaited<ReturnType<typeof runtime>>, id: string) => {
    await tg.create('subscription', id, { customerId: `c-${id}`, plan: 'pro' });
    await tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm_1' });
  };
  // Settled and, where there is a follow-up event, its outcome stored (the worker stores it after the gate answered).
  const settled = (tg: Awaited<ReturnType<typeof runtime>>, id: string) =>
    eventually(
      async () => (await effectRows(tg, id)).every((e) => (e.status === 'completed' || e.status === 'failed') && (e.follow_up === null || e.follow_up_outcome !== null)),
      10_000,
      'effects to settle',
    );

  it('acknowledges re-delivered jobs of a completed effect without running the handler again', async () => {
    const tg = await runtime();
    let calls = 0;
    tg.effect('chargePayment', async () => {
      calls++;
      return { event: { type: 'PAYMENT_SUCCEEDED' } };
    });
    const processes = await testProcesses(tg, kind);
    await upgraded(tg, 'd1');
    await eventually(async () => (await tg.get('subscription', 'd1')).context.payments === 1);
    const [effect] = await tg.effects('subscription', 'd1');
    await eventually(async () => (await processes.transport.present('effects', [effect!.id])).size === 0);
    // BullMQ removed the completed job: the same id added again runs again; the Postgres row must stop it.
    for (let i = 0; i < 5; i++) {
      await processes.transport.add('effects', [{ id: effect!.id, data: { effectId: effect!.id, machine: 'subscription', entityId: 'd1', type: 'chargePayment' } }]);
      await eventually(async () => (await processes.transport.present('effects', [effect!.id])).size === 0);
    }
    const skipped = (await testAccess(tg).metrics.registry.getSingleMetricAsString('tollgate_effect_outcomes_total'));
    expect(skipped).toContain('outcome="skipped"} 5');
    expect(calls).toBe(1);
    expect((await tg.get('subscription', 'd1')).context.payments).toBe(1);
  });

  it('records two concurrent runs of one effect once and applies its follow-up once', async () => {
    const tg = await runtime();
    let calls = 0;
    let release!: () => void;
    const bothRunning = new Promise<void>((r) => (release = r));
    tg.effect('chargePayment', async () => {
      if (++calls === 2) release();
      await bothRunning;
      return { result: { n: calls }, event: { type: 'PAYMENT_SUCCEEDED' } };
    });
    await testProcesses(tg, kind);
    // A second worker fleet with its own queue: the same effect delivered to both at once.
    const other = await testProcesses(tg, kind, { relay: false, timers: false, eventWorkers: false });
    await upgraded(tg, 'c1');
    const [effect] = await tg.effects('subscription', 'c1');
    await other.transport.add('effects', [{ id: effect!.id, data: { effectId: effect!.id, machine: 'subscription', entityId: 'c1', type: 'chargePayment' } }]);
    await settled(tg, 'c1');
    await eventually(async () => (await effectRows(tg, 'c1'))[0]?.follow_up_outcome !== null);
    expect(calls).toBe(2);
    expect((await effectRows(tg, 'c1'))[0]).toMatchObject({ status: 'completed', attempts: 1 });
    // The losing run records after the winner's follow-up may already be out: wait for both outcomes.
    const outcomes = () => testAccess(tg).metrics.registry.getSingleMetricAsString('tollgate_effect_outcomes_total');
    await eventually(async () => (await outcomes()).includes('outcome="duplicate"'), 5000, 'the second run to record');
    const metric = await outcomes();
    expect(metric).toContain('outcome="completed"} 1');
    expect(metric).toContain('outcome="duplicate"} 1');
    expect((await tg.get('subscription', 'c1')).context.payments).toBe(1);
  });

  it('retries retryable errors with backoff, counting attempts, until the handler succeeds', async () => {
    const tg = await runtime();
    const attempts: number[] = [];
    tg.effect(
      'chargePayment',
      async (ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt === 1) throw new RetryableError('provider 503', { retryAfterMs: 50 });
        if (ctx.attempt === 2) throw new Error('socket hang up');
        return { event: { type: 'PAYMENT_SUCCEEDED' } };
      },
      { attempts: 5, backoffMs: 50 },
    );
    await testProcesses(tg, kind);
    await upgraded(tg, 'r1');
    await eventually(async () => (await tg.get('subscription', 'r1')).context.payments === 1);
    expect(attempts).toEqual([1, 2, 3]);
    expect(await tg.effects('subscription', 'r1')).toMatchObject([{ status: 'completed', attempts: 3 }]);
    expect((await tg.get('subscription', 'r1')).context.payments).toBe(1);
  });

  it('fails a terminal error at once and sends the machine\'s compensation event, counted', async () => {
    const tg = await runtime();
    const calls: string[] = [];
    tg.effect('chargePayment', async (ctx) => {
      calls.push(ctx.effectId);
      throw new TerminalError('card declined');
    });
    tg.effect('sendEmail', async () => ({}));
    await testProcesses(tg, kind);
    await upgraded(tg, 't1');
    await eventually(async () => (await tg.get('subscription', 't1')).state === 'grace', 10_000, 'the compensation');
    await settled(tg, 't1');
    // The upgrade charge and then grace's dunning charge: each run once, neither retried.
    expect(calls).toEqual((await tg.effects('subscription', 't1')).filter((e) => e.type === 'chargePayment').map((e) => e.id));
    expect(calls).toHaveLength(2);
    const [charge] = await effectRows(tg, 't1');
    expect(charge).toMatchObject({ type: 'chargePayment', status: 'failed', attempts: 1, compensated: true, follow_up: { type: 'PAYMENT_FAILED' } });
    expect((await tg.effects('subscription', 't1'))[0]?.followUp).toMatchObject({ event: { type: 'PAYMENT_FAILED' }, outcome: { status: 'committed', state: 'grace' } });
    expect((await tg.history('subscription', 't1')).at(-1)).toMatchObject({ eventType: 'PAYMENT_FAILED', actor: 'effect/chargePayment' });
    expect(await testAccess(tg).metrics.registry.getSingleMetricAsString('tollgate_compensations_total')).toContain(
      'tollgate_compensations_total{machine="subscription",type="chargePayment",event="PAYMENT_FAILED"} 1',
    );
    expect(await tg.metricsText()).toMatch(/tollgate_compensations_per_1000_transitions \d/);
  });

  it('fails an effect whose attempts are exhausted and compensates; an illegal compensation is recorded once, not retried', async () => {
    const tg = await runtime();
    const attempts: number[] = [];
    tg.effect(
      'chargePayment',
      async (ctx) => {
        attempts.push(ctx.attempt);
        throw new Error('provider down');
      },
      { attempts: 2, backoffMs: 20 },
    );
    tg.effect('sendEmail', async () => ({}));
    await testProcesses(tg, kind);
    await upgraded(tg, 'x1');
    // upgrade charge fails twice -> PAYMENT_FAILED -> grace, whose dunning charge fails twice -> PAYMENT_FAILED is illegal in grace.
    await eventually(async () => (await effectRows(tg, 'x1')).filter((e) => e.type === 'chargePayment').every((e) => e.follow_up_outcome !== null) && (await effectRows(tg, 'x1')).length === 3, 10_000);
    const charges = (await effectRows(tg, 'x1')).filter((e) => e.type === 'chargePayment');
    expect(charges).toMatchObject([
      { status: 'failed', attempts: 2, compensated: true, follow_up_outcome: { status: 'committed' } },
      { status: 'failed', attempts: 2, compensated: false, follow_up_outcome: { status: 'rejected', code: 'TG_ILLEGAL_TRANSITION' } },
    ]);
    expect(attempts).toEqual([1, 2, 1, 2]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await tg.rejections('subscription', 'x1')).toMatchObject([{ code: 'TG_ILLEGAL_TRANSITION', eventType: 'PAYMENT_FAILED' }]);
    expect((await tg.get('subscription', 'x1')).state).toBe('grace');
  });

  it('records an illegal follow-up event once and completes the effect', async () => {
    const tg = await runtime();
    let calls = 0;
    tg.effect('chargePayment', async () => {
      calls++;
      return { event: { type: 'RESUME' } }; // not legal in `active`
    });
    await testProcesses(tg, kind);
    await upgraded(tg, 'i1');
    await eventually(async () => (await effectRows(tg, 'i1'))[0]?.follow_up_outcome != null);
    await new Promise((r) => setTimeout(r, 300));
    expect((await effectRows(tg, 'i1'))[0]).toMatchObject({ status: 'completed', follow_up_outcome: { status: 'rejected', code: 'TG_ILLEGAL_TRANSITION' } });
    expect(await tg.rejections('subscription', 'i1')).toHaveLength(1);
    expect(calls).toBe(1);
  });

  it('stops gracefully: a handler past the deadline is aborted, and its effect runs again, once, elsewhere', async () => {
    const tg = await runtime();
    let started = 0;
    let aborted = 0;
    tg.effect('chargePayment', async (ctx) => {
      started++;
      if (started === 1) {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        aborted++;
        throw new RetryableError('aborted by shutdown');
      }
      return { event: { type: 'PAYMENT_SUCCEEDED' } };
    });
    const first = await testProcesses(tg, kind);
    await upgraded(tg, 'g1');
    await eventually(() => started === 1);
    await first.stop({ deadlineMs: 200 });
    expect(aborted).toBe(1);
    const second = await testProcesses(tg, kind);
    await second.sweep({ minAgeMs: 0 });
    await eventually(async () => (await tg.get('subscription', 'g1')).context.payments === 1, 15_000, 'the re-run');
    expect(started).toBe(2);
  });
});

describe.each(transportKinds())('effect workers shutting down on %s', (kind) => {
  it('a handler aborted by the shutdown on its last attempt is abandoned, not failed and compensated, and runs again', async () => {
    const tg = await runtime();
    let started = 0;
    tg.effect(
      'chargePayment',
      async (ctx) => {
        started++;
        if (started === 1) {
          // A well-behaved handler: it stops when told to, as EffectContext.signal asks.
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
          throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('aborted');
        }
        return { event: { type: 'PAYMENT_SUCCEEDED' } };
      },
      { attempts: 1 },
    );
    tg.effect('sendEmail', async () => ({}));
    const first = await testProcesses(tg, kind);
    await tg.create('subscription', 'a1', { customerId: 'c-a1', plan: 'pro' });
    await tg.send('subscription', 'a1', { type: 'UPGRADE', paymentMethodId: 'pm_1' });
    await eventually(() => started === 1, 10_000, 'the handler to start');
    await first.stop({ deadlineMs: 200 });
    await sleep(500); // whatever the aborted run would record, it has recorded by now
    // Abandoned: still open, no attempt used, no compensation.
    expect((await effectRows(tg, 'a1'))[0]).toMatchObject({ type: 'chargePayment', status: 'dispatched', attempts: 0 });
    expect((await tg.history('subscription', 'a1')).map((t) => t.eventType)).not.toContain('PAYMENT_FAILED');
    expect(await tg.metricsText()).toContain('tollgate_effect_outcomes_total{type="chargePayment",outcome="abandoned"} 1');
    const second = await testProcesses(tg, kind);
    await second.sweep({ minAgeMs: 0 });
    await eventually(async () => (await tg.get('subscription', 'a1')).context.payments === 1, 10_000, 'the run after the restart');
    expect((await tg.get('subscription', 'a1')).state).toBe('active');
    expect(started).toBe(2);
  });
});

describe('effect workers during a rolling deploy (in-process)', () => {
  it('a worker that does not know the effect\'s machine does not run it and leaves it open; a worker that knows runs it once', async () => {
    const tgNew = await runtime();
    // An older release's worker on the same database: it has the handler, but not the `order` machine.
    const tgOld = await testRuntime('postgres', { machines: { subscription }, maxConnections: 4, schema: testAccess(tgNew).schema });
    const calls: string[] = [];
    for (const tg of [tgOld, tgNew]) tg.effect('sendEmail', (ctx) => void calls.push(ctx.effectId));
    const warnings: string[] = [];
    const old = await testProcesses(tgOld, 'in-process', { timers: false, eventWorkers: false, logger: { ...quietLogger, warn: (_: object, m: string) => void warnings.push(m) } });
    await tgNew.create('order', 'o1', { orderId: 'o1', customerId: 'c-o1', amountCents: 500 });
    await tgNew.send('order', 'o1', { type: 'CANCEL' });
    await eventually(() => warnings.some((m) => m.includes("left for a worker that knows machine 'order'")), 10_000, 'the old worker to take the effect');
    expect(calls).toEqual([]);
    expect((await effectRows(tgNew, 'o1'))[0]).toMatchObject({ type: 'sendEmail', status: 'dispatched', attempts: 0 });
    await old.stop({ deadlineMs: 1000 });
    const fresh = await testProcesses(tgNew, 'in-process', { timers: false, eventWorkers: false });
    await fresh.sweep({ minAgeMs: 0 });
    await eventually(async () => (await effectRows(tgNew, 'o1'))[0]?.status === 'completed', 10_000, 'the new worker to run it');
    expect(calls).toHaveLength(1);
  });
});

describe('effects the relay never claimed (in-process)', () => {
  it('a retried run of a still-pending effect dispatches it, so the sweeper re-adds it once its job is lost', async () => {
    const tg = await runtime();
    let runs = 0;
    tg.effect('chargePayment', async () => {
      runs++;
      throw new RetryableError('provider 503', { retryAfterMs: 600_000 });
    });
    // No relay: the commit writes its effect pending.
    const processes = await testProcesses(tg, 'in-process', { relay: false, timers: false, eventWorkers: false });
    await tg.create('subscription', 'p1', { customerId: 'c-p1', plan: 'pro' });
    await tg.send('subscription', 'p1', { type: 'UPGRADE', paymentMethodId: 'pm_1' });
    const [effect] = await tg.effects('subscription', 'p1');
    expect(effect?.status).toBe('pending');
    // What a database crash leaves when it loses a relay's claim (committed without waiting for its flush) after the
    // relay added the job: a pending row with a live job. The worker runs it first.
    await processes.transport.add('effects', [effectJob({ id: effect!.id, machine: 'subscription', entityId: 'p1', type: 'chargePayment' })]);
    await eventually(async () => (await effectRows(tg, 'p1'))[0]?.attempts === 1, 10_000, 'the first run to record its retry');
    expect(runs).toBe(1);
    expect((await effectRows(tg, 'p1'))[0]?.status).toBe('dispatched');
    // The queue then loses the delayed job (Redis restarted without persistence): the sweeper must find the effect.
    const emptyQueue = inProcessTransport();
    const readded = await sweepEffects(portsOf(tg).outboxStore, emptyQueue, portsOf(tg).jobMetrics(), { minAgeMs: 0 });
    await emptyQueue.close();
    expect(readded).toEqual([effect!.id]);
  });
});
