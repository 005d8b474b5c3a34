import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { machines, subscription } from '../../machines/index.ts';
import { testRuntime } from '../support/databases.ts';
import { eventually, quietLogger, stopAll, testProcesses, transportKinds } from '../support/processes.ts';
import { uniquePrefix } from '../support/redis.ts';
import { widgetRelease1, widgetRelease2 } from '../fixtures/widget-releases.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

afterEach(stopAll);

describe.each(transportKinds())('queue-driven events on %s', (kind) => {
  it('applies an enqueued event through the gate and lets the producer await the outcome; the same request twice applies once', async () => {
    const tg = await testRuntime('postgres', { machines, maxConnections: 4 });
    await testProcesses(tg, kind, { effectWorkers: false });
    await tg.create('subscription', 'q1', { customerId: 'c', plan: 'pro' });
    const upgrade = await tg.enqueue('subscription', 'q1', { type: 'UPGRADE', paymentMethodId: 'pm' }, { idempotencyKey: 'up' });
    expect(await upgrade.outcome()).toMatchObject({ status: 'accepted', state: 'active', replayed: false });
    const pause = await tg.enqueue('subscription', 'q1', { type: 'PAUSE' }, { idempotencyKey: 'k1' });
    const first = await pause.outcome();
    expect(first).toMatchObject({ status: 'accepted', state: 'paused.idle' });
    const dup = await tg.enqueue('subscription', 'q1', { type: 'PAUSE' }, { idempotencyKey: 'k1' });
    expect(dup.jobId).toBe(pause.jobId);
    expect(await dup.outcome()).toMatchObject({ status: 'accepted', transitionId: (first as { transitionId: string }).transitionId });
    expect((await tg.history('subscription', 'q1')).filter((t) => t.eventType === 'PAUSE')).toHaveLength(1);
    expect((await tg.get('subscription', 'q1')).version).toBe(3);
  });

  it('completes a coded rejection as a final outcome, recorded once and not retried', async () => {
    const tg = await testRuntime('postgres', { machines, maxConnections: 4 });
    await testProcesses(tg, kind, { effectWorkers: false });
    await tg.create('subscription', 'q2', { customerId: 'c', plan: 'pro' });
    const queued = await tg.enqueue('subscription', 'q2', { type: 'RESUME' }, { idempotencyKey: 'r1' });
    expect(await queued.outcome()).toMatchObject({ status: 'rejected', code: 'TG_ILLEGAL_TRANSITION' });
    await new Promise((r) => setTimeout(r, 500));
    expect(await tg.rejections('subscription', 'q2')).toMatchObject([{ code: 'TG_ILLEGAL_TRANSITION', idempotencyKey: 'r1' }]);
    const reused = await tg.enqueue('subscription', 'q2', { type: 'CANCEL' }, { idempotencyKey: 'c1' });
    await reused.outcome();
    const misuse = await tg.enqueue('subscription', 'q2', { type: 'CANCEL', reason: 'other' }, { idempotencyKey: 'c1' });
    expect(await misuse.outcome()).toMatchObject({ status: 'rejected', code: 'TG_IDEMPOTENCY_KEY_REUSED' });
  });

  it('retries version conflicts until every concurrent event is applied', async () => {
    const tg = await testRuntime('postgres', { machines, maxConflictRetries: 0, snapshotCacheSize: 0 });
    await testProcesses(tg, kind, { effectWorkers: false, concurrency: 8 });
    await tg.create('subscription', 'q3', { customerId: 'c', plan: 'pro' });
    await tg.send('subscription', 'q3', { type: 'UPGRADE', paymentMethodId: 'pm' });
    const queued = await Promise.all(Array.from({ length: 16 }, (_, i) => tg.enqueue('subscription', 'q3', { type: 'RENEW' }, { idempotencyKey: `renew-${i}` })));
    const outcomes = await Promise.all(queued.map((q) => q.outcome({ timeoutMs: 30_000 })));
    expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
    expect((await tg.history('subscription', 'q3')).filter((t) => t.eventType === 'RENEW')).toHaveLength(16);
    expect(await tg.metricsText()).toMatch(/tollgate_queued_events_total\{machine="subscription",outcome="retried"\} [1-9]/);
  }, 45_000);

  it('refuses to enqueue without a transport, saying what to start', async () => {
    const tg = await testRuntime('postgres', { machines, maxConnections: 4 });
    await tg.create('subscription', 'q4', { customerId: 'c', plan: 'pro' });
    await expect(tg.enqueue('subscription', 'q4', { type: 'PAUSE' })).rejects.toMatchObject({ code: 'TG_NO_TRANSPORT' });
  });
});

describe.runIf(transportKinds().includes('bullmq'))('queue-driven events during a rolling deploy (bullmq)', () => {
  it('a worker that does not know the event\'s machine leaves it queued (no rejection); a worker that knows applies it', async () => {
    const redisUrl = inject('redisUrl') as string;
    const queuePrefix = uniquePrefix(redisUrl);
    const tgNew = await testRuntime('postgres', { machines, maxConnections: 4 });
    // An older release's event worker on the same database and queues: it does not know the `order` machine.
    const tgOld = await testRuntime('postgres', { machines: { subscription }, maxConnections: 4, schema: testAccess(tgNew).schema });
    const metricLine = /tollgate_queued_events_total\{[^}]*machine="order"[^}]*outcome="retried"[^}]*\} 1/;
    const old = await testProcesses(tgOld, 'bullmq', { redisUrl, queuePrefix, relay: false, effectWorkers: false, timers: false, logger: quietLogger });
    // The producer runs the new release and consumes nothing.
    await testProcesses(tgNew, 'bullmq', { redisUrl, queuePrefix, relay: false, effectWorkers: false, timers: false, eventWorkers: false });
    await tgNew.create('order', 'o1', { orderId: 'o1', customerId: 'c-o1', amountCents: 500 });
    const queued = await tgNew.enqueue('order', 'o1', { type: 'CANCEL' }, { idempotencyKey: 'cancel-o1' });
    await eventually(async () => metricLine.test(await tgOld.metricsText()), 10_000, 'the old worker to take the event');
    // Left open: no rejection recorded, the job is still in the queue, the order untouched.
    expect(await tgNew.rejections('order', 'o1')).toEqual([]);
    expect([...(await old.transport.present('events', [queued.jobId]))]).toEqual([queued.jobId]);
    expect((await tgNew.get('order', 'o1')).version).toBe(1);
    await old.stop({ deadlineMs: 1000 });
    // The new release's worker takes it once its retry is due (promoted here instead of waiting 30 s).
    await testProcesses(tgNew, 'bullmq', { redisUrl, queuePrefix, relay: false, effectWorkers: false, timers: false });
    const queue = new Queue(`${testAccess(tgNew).schema}-events`, { connection: { url: redisUrl }, prefix: queuePrefix });
    await (await queue.getJob(queued.jobId))?.promote();
    await queue.close();
    expect(await queued.outcome()).toMatchObject({ status: 'accepted', state: 'canceled' });
  });

  it('a worker of an older machine version leaves an event of a newer release queued; the newer release applies it', async () => {
    const redisUrl = inject('redisUrl') as string;
    const queuePrefix = uniquePrefix(redisUrl);
    const tgNew = await testRuntime('postgres', { machines: { widget: widgetRelease2 }, maxConnections: 4 });
    const tgOld = await testRuntime('postgres', { machines: { widget: widgetRelease1 }, maxConnections: 4, schema: testAccess(tgNew).schema });
    const old = await testProcesses(tgOld, 'bullmq', { redisUrl, queuePrefix, relay: false, effectWorkers: false, timers: false });
    await testProcesses(tgNew, 'bullmq', { redisUrl, queuePrefix, relay: false, effectWorkers: false, timers: false, eventWorkers: false });
    // Created by the older release (version 1), so only the event's own version tells the old worker it is newer.
    await tgOld.create('widget', 'w2', {});
    const queued = await tgNew.enqueue('widget', 'w2', { type: 'PING' }, { idempotencyKey: 'ping-w2' });
    const deferred = /tollgate_deploy_skew_deferred_total\{queue="events",machine="widget",code="TG_MACHINE_VERSION_AHEAD"\} 1/;
    await eventually(async () => deferred.test(await tgOld.metricsText()), 10_000, 'the old worker to take the event');
    expect(await tgNew.rejections('widget', 'w2')).toEqual([]);
    await old.stop({ deadlineMs: 1000 });
    await testProcesses(tgNew, 'bullmq', { redisUrl, queuePrefix, relay: false, effectWorkers: false, timers: false });
    const queue = new Queue(`${testAccess(tgNew).schema}-events`, { connection: { url: redisUrl }, prefix: queuePrefix });
    await (await queue.getJob(queued.jobId))?.promote();
    await queue.close();
    expect(await queued.outcome()).toMatchObject({ status: 'accepted', state: 'done' });
  });
});

describe('queue-driven events, embedded (in-process)', () => {
  it('a graceful stop applies the events tg.enqueue already accepted (they live only in memory)', async () => {
    const tg = await testRuntime('postgres', { machines, maxConnections: 4 });
    const processes = await testProcesses(tg, 'in-process', { relay: false, effectWorkers: false, timers: false, concurrency: 1 });
    const n = 10;
    for (let i = 0; i < n; i++) await tg.create('subscription', `e${i}`, { customerId: `c-e${i}`, plan: 'pro' });
    for (let i = 0; i < n; i++) await tg.enqueue('subscription', `e${i}`, { type: 'CANCEL' }, { idempotencyKey: `cancel-${i}` });
    await processes.stop({ deadlineMs: 5000 });
    const states = await Promise.all(Array.from({ length: n }, async (_, i) => (await tg.get('subscription', `e${i}`)).state));
    expect(states).toEqual(Array.from({ length: n }, () => 'canceled'));
  });

  it('a graceful stop also applies an event whose retry falls due before its deadline', async () => {
    const tg = await testRuntime('postgres', { machines, maxConnections: 4 });
    const processes = await testProcesses(tg, 'in-process', { relay: false, effectWorkers: false, timers: false });
    await tg.create('subscription', 'e-retry', { customerId: 'c', plan: 'pro' });
    const original = testAccess(tg).send;
    let threw = false;
    (testAccess(tg) as { send: typeof original }).send = async (...args) => {
      if (!threw) {
        threw = true;
        throw new Error('connection reset'); // retryable: the transport retries it within a few hundred ms
      }
      return original(...args);
    };
    await tg.enqueue('subscription', 'e-retry', { type: 'CANCEL' }, { idempotencyKey: 'cancel-retry' });
    while (!threw) await sleep(5);
    await processes.stop({ deadlineMs: 5000 });
    (testAccess(tg) as { send: typeof original }).send = original;
    expect((await tg.get('subscription', 'e-retry')).state).toBe('canceled');
  });
});
