import { afterEach, describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { testRuntime } from '../support/databases.ts';
import { stopAll, testProcesses, transportKinds } from '../support/processes.ts';

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
