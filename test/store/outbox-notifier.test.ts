import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { outboxChannel } from '../../src/store/commit.ts';
import { outboxNotifier } from '../../src/store/outbox-notifier.ts';
import { testRuntime } from '../support/databases.ts';

const settle = () => new Promise((r) => setTimeout(r, 300));

describe('outbox notifier', () => {
  it('coalesces pokes made while a NOTIFY is in flight into exactly one more, sent after them', async () => {
    const tg = await testRuntime('postgres', { machines, maxConnections: 4 });
    const channel = outboxChannel(tg.internals.schema);
    let received = 0;
    const unlisten = await tg.internals.client.listen(channel, () => void received++);
    try {
      const notifier = outboxNotifier(tg.internals.client, channel);
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

  it('is poked by commits that write effects, and only by those', async () => {
    const tg = await testRuntime('postgres', { machines, maxConnections: 4 });
    let received = 0;
    const unlisten = await tg.internals.client.listen(outboxChannel(tg.internals.schema), () => void received++);
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
