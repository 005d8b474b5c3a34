import { afterEach, describe, expect, it } from 'vitest';
import { consumerStore } from '../../src/store/consumer-store.ts';
import type { LifecycleEvent } from '../../src/feed/event.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { postgresAvailable, testRuntime } from '../support/databases.ts';
import { eventually } from '../support/processes.ts';
import { feedMachines, stopFeeds, testFeed } from './support.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

afterEach(stopFeeds);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function consumer(name: string) {
  const tg = await testRuntime('postgres', { machines: feedMachines });
  const store = consumerStore(testAccess(tg).client, testAccess(tg).schema);
  const got: LifecycleEvent[] = [];
  tg.onTransition(name, (e) => void got.push(e));
  testFeed(tg);
  await eventually(async () => (await store.list(name)).length === 1, 10_000, 'the consumer row');
  return { tg, store, got };
}

describe.runIf(postgresAvailable())('lifecycle feed: pause, resume, rewind', () => {
  it('a paused consumer receives nothing until it is resumed; then it has what committed meanwhile, in order', { timeout: 60_000 }, async () => {
    const { tg, store, got } = await consumer('paused');
    await tg.create('ticket', 'p', {});
    await eventually(() => got.length === 1, 10_000, 'the first event');
    // The cursor moves after the handler returns: pause only once it has (else the first event counts as behind).
    await eventually(async () => (await store.list('paused'))[0]?.behind === 0, 10_000, 'the cursor past the first event');
    await store.setStatus('paused', 'paused');
    await sleep(800); // the delivering loop notices (its lease is gone)
    await tg.send('ticket', 'p', { type: 'CLOSE' });
    await tg.send('ticket', 'p', { type: 'REOPEN' });
    await sleep(1500); // a lease round (500 ms here) and many polls (50 ms)
    expect(got.map((e) => e.seq)).toEqual([1]);
    expect((await store.list('paused'))[0]).toMatchObject({ status: 'paused', behind: 2, lease_owner: null });
    await store.setStatus('paused', 'active');
    await eventually(() => got.length === 3, 10_000, 'the events committed while paused');
    expect(got.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('rewinds to a time, to a position and to the beginning: exactly the transitions from there are delivered again', { timeout: 60_000 }, async () => {
    const { tg, store, got } = await consumer('again');
    await tg.create('ticket', 'r', {});
    await tg.send('ticket', 'r', { type: 'CLOSE' });
    await eventually(() => got.length === 2, 10_000, 'the first two');
    await sleep(50);
    const between = new Date();
    await sleep(50);
    await tg.send('ticket', 'r', { type: 'REOPEN' });
    await tg.send('ticket', 'r', { type: 'NOTE', text: 'x' });
    await eventually(() => got.length === 4, 10_000, 'all four');

    await store.rewind('again', { time: between });
    await eventually(() => got.length === 6, 10_000, 'the two after the time');
    await sleep(300);
    expect(got.slice(4).map((e) => e.seq)).toEqual([3, 4]);

    // A position as `consumers list` shows it: the transaction id of seq 2's commit.
    const [row] = await testAccess(tg).client.query<{ xid: string }>(
      `SELECT xid::text AS xid FROM ${quoteIdent(testAccess(tg).schema)}.transitions WHERE entity_id = 'r' AND seq = 2`,
    );
    await store.rewind('again', { position: row?.xid as string });
    await eventually(() => got.length === 9, 10_000, 'the three from the position');
    await sleep(300);
    expect(got.slice(6).map((e) => e.seq)).toEqual([2, 3, 4]);

    await store.rewind('again', 'beginning');
    await eventually(() => got.length === 13, 10_000, 'the whole history');
    await sleep(300);
    expect(got.slice(9).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(new Set(got.map((e) => e.id)).size).toBe(4);
  });
});
