import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { outboxChannel } from '../../src/store/commit.ts';
import { outboxNotifier } from '../../src/store/outbox-notifier.ts';
import { testRuntime } from '../support/databases.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

const settle = () => new Promise((r) => setTimeout(r, 300));

describe('outbox notifier', () => {
  it('coalesces pokes made while a NOTIFY is in flight into exactly one more, sent after them', async () => {
    const tg = await testRuntime('postgres', { machines, maxConnections: 4 });
    const channel = outboxChannel(testAccess(tg).schema);
    let received = 0;
    const unlisten = await testAccess(tg).client.listen(channel, () => void received++);
    try {
      const notifier = outboxNotifier(testAccess(tg).client, channel);
      notifier.poke(); // sent at once
      notifier.poke(); // in flight: one follow-up
      notifier.poke(); // folded into that follow-up
      await notifier.drain();
      await settle();
      expect(received).toBe(2);
      notifier.poke();
      await notifier.drain();
      await settle();
      expect(received).toBe(3);
    } finally {
      await unlisten();
    }
  });

  it('notifies at once after a quiet spell, and sends pokes within the gap as one NOTIFY at its end', async () => {
    const tg = await testRuntime('postgres', { machines, maxConnections: 4 });
    const channel = outboxChannel(testAccess(tg).schema);
    const arrivals: number[] = [];
    const unlisten = await testAccess(tg).client.listen(channel, () => void arrivals.push(performance.now()));
    try {
      const notifier = outboxNotifier(testAccess(tg).client, channel, { minGapMs: 600 });
      const first = performance.now();
      notifier.poke();
      await notifier.drain();
      for (let i = 0; i < 10; i++) {
        notifier.poke(); // all within the gap: one NOTIFY when it ends
        await new Promise((r) => setTimeout(r, 20));
      }
      await notifier.drain();
      await settle();
      expect(arrivals).toHaveLength(2);
      expect((arrivals[0] as number) - first).toBeLessThan(300); // the first did not wait for a gap
      expect((arrivals[1] as number) - first).toBeGreaterThanOrEqual(590); // the second waited for it
    } finally {
      await unlisten();
    }
  });

  it('leaves the session committing durably: the next commit on its connection waits for its flush', async () => {
    const tg = await testRuntime('postgres', { machines, maxConnections: 1 }); // the NOTIFY and the check share a session
    const notifier = outboxNotifier(testAccess(tg).client, outboxChannel(testAccess(tg).schema));
    notifier.poke();
    await notifier.drain();
    expect(await testAccess(tg).client.query(`SELECT current_setting('synchronous_commit') AS v`)).toEqual([{ v: 'on' }]);
  });

  it('is poked by commits that write effects, and only by those', async () => {
    const tg = await testRuntime('postgres', { machines, maxConnections: 4 });
    let received = 0;
    const unlisten = await testAccess(tg).client.listen(outboxChannel(testAccess(tg).schema), () => void received++);
    try {
      await tg.create('subscription', 'n1', { customerId: 'c', plan: 'pro' }); // trial: a timer, no effect
      await tg.send('subscription', 'n1', { type: 'UPGRADE', paymentMethodId: 'pm' }); // chargePayment
      await settle();
      expect(received).toBe(1);
      await tg.send('subscription', 'n1', { type: 'PAYMENT_SUCCEEDED' }); // no effect
      await settle();
      expect(received).toBe(1);
    } finally {
      await unlisten();
    }
  });
});
