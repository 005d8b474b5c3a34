import { afterEach, describe, expect, it } from 'vitest';
import { setFaultHook } from '../../src/jobs/faults.ts';
import { backends } from '../support/databases.ts';
import { activeSubscription, subscriptionRuntime } from '../support/subscriptions.ts';

// Found by `npm run chaos` (seed 13): a client's retry of a PAUSE whose first attempt committed while the retry was
// between its idempotency-key check and its load was answered TG_ILLEGAL_TRANSITION ("PAUSE is not allowed in
// paused"), a refusal of a request that had committed. The retry must answer with the commit it finds.
describe.each(backends())('a retry racing its own first attempt on %s', (backend) => {
  afterEach(() => setFaultHook(undefined));

  it('the first attempt commits between the retry key check and its load: the retry replays it, records no refusal', async () => {
    const { tg } = await subscriptionRuntime(backend, { snapshotCacheSize: 0 });
    await activeSubscription(tg, 's1');
    let first: Awaited<ReturnType<typeof tg.send>> | undefined;
    let armed = true;
    setFaultHook(async (point) => {
      if (point !== 'gate.after-key-check' || !armed) return;
      armed = false;
      // The retry found no commit for its key; the first attempt (whose answer the client never got) lands now.
      first = await tg.send('subscription', 's1', { type: 'PAUSE' }, { idempotencyKey: 'pause-1' });
    });

    const retry = await tg.send('subscription', 's1', { type: 'PAUSE' }, { idempotencyKey: 'pause-1' });

    expect(first?.replayed).toBe(false);
    expect(retry.replayed).toBe(true);
    expect(retry.transition.id).toBe(first?.transition.id);
    expect(retry.entity.state).toBe('paused.idle');
    const history = await tg.history('subscription', 's1');
    expect(history.filter((t) => t.idempotencyKey === 'pause-1')).toHaveLength(1);
    const rejections = await tg.rejections('subscription', 's1');
    expect(rejections).toHaveLength(0);
  });
});
