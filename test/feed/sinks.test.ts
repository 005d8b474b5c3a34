import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { consumerStore } from '../../src/store/consumer-store.ts';
import { verifyWebhookSignature } from '../../src/feed/signature.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import type { LifecycleEvent } from '../../src/feed/event.ts';
import { postgresAvailable, testRuntime } from '../support/databases.ts';
import { eventually } from '../support/processes.ts';
import { feedMachines, inSeqOrder, spec, startReceiver, stopFeeds, streamMessages, testFeed, type Receiver } from './support.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

const receivers: Receiver[] = [];
afterEach(async () => {
  await stopFeeds();
  await Promise.all(receivers.splice(0).map((r) => r.close().catch(() => {})));
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

async function runtime() {
  const tg = await testRuntime('postgres', { machines: feedMachines });
  return { tg, store: consumerStore(testAccess(tg).client, testAccess(tg).schema) };
}

describe.runIf(postgresAvailable())('lifecycle feed: webhooks', () => {
  it('POSTs each event signed (HMAC-SHA256 over timestamp and body), retrying failures with backoff', async () => {
    const { tg, store } = await runtime();
    const hook = await receiver();
    const failures = new Map<string, number>();
    hook.respond = (e) => {
      const n = failures.get(e.id) ?? 0;
      failures.set(e.id, n + 1);
      return n < 2 ? 503 : 200;
    };
    await store.add(spec({ name: 'crm', sink: 'webhook', target: hook.url, secret: 's3cret' }));
    testFeed(tg);
    await tg.create('ticket', 'w-1', {});
    await tg.send('ticket', 'w-1', { type: 'CLOSE' });
    await eventually(() => hook.events.length === 2, 15_000, 'two webhook deliveries');
    expect(hook.events.map((e) => e.seq)).toEqual([1, 2]);
    for (const r of hook.requests) {
      expect(verifyWebhookSignature({ secret: 's3cret', header: r.headers['tollgate-signature'] as string, body: r.body })).toBe(true);
      expect(verifyWebhookSignature({ secret: 'wrong', header: r.headers['tollgate-signature'] as string, body: r.body })).toBe(false);
      expect(verifyWebhookSignature({ secret: 's3cret', header: r.headers['tollgate-signature'] as string, body: `${r.body} ` })).toBe(false);
      expect(r.headers['tollgate-event-id']).toBe(r.event.id);
    }
    await eventually(async () => (await store.list('crm'))[0]?.behind === 0, 10_000, 'the cursor past both');
    const [row] = await store.list('crm');
    expect(row).toMatchObject({ delivered: 2, retried: 4, dead_lettered: 0, behind: 0 });
    expect(await tg.metricsText()).toMatch(/tollgate_feed_retried_total\{consumer="crm"\} 4/);
  });

  it('dead-letters after its attempts, holds the entity\'s later events behind it, and redelivers them in order', async () => {
    const { tg, store } = await runtime();
    const hook = await receiver();
    let refuse = true;
    const attempts = new Map<string, number>();
    hook.respond = (e) => {
      attempts.set(`${e.entityId}:${e.seq}`, (attempts.get(`${e.entityId}:${e.seq}`) ?? 0) + 1);
      // Only bad's first event fails: its second would be taken, so delivering it is what holding it back prevents.
      return refuse && e.entityId === 'bad' && e.seq === 1 ? 500 : 200;
    };
    await store.add(spec({ name: 'dl', sink: 'webhook', target: hook.url, secret: 'x', maxAttempts: 2 }));
    testFeed(tg);
    await tg.create('ticket', 'bad', {});
    await tg.create('ticket', 'good', {});
    await eventually(async () => (await store.list('dl'))[0]?.dead_letters === 1, 15_000, 'the first dead letter');
    // Exactly maxAttempts tries, then the dead letter records them.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(attempts.get('bad:1')).toBe(2);
    const [letter] = await testAccess(tg).client.query<{ attempts: number; error: string }>(
      `SELECT attempts, error FROM ${quoteIdent(testAccess(tg).schema)}.feed_dead_letters WHERE consumer = 'dl'`,
    );
    expect(letter).toMatchObject({ attempts: 2, error: expect.stringContaining('answered 500') });
    await tg.send('ticket', 'bad', { type: 'CLOSE' });
    await tg.send('ticket', 'good', { type: 'CLOSE' });
    await eventually(async () => (await store.list('dl'))[0]?.dead_letters === 2 && hook.events.length === 2, 15_000, 'the held event and the good ones');
    const held = await testAccess(tg).client.query<{ seq: number; error: string }>(
      `SELECT seq, error FROM ${quoteIdent(testAccess(tg).schema)}.feed_dead_letters WHERE consumer = 'dl' ORDER BY seq`,
    );
    expect(held.map((d) => [d.seq, d.error.includes('held behind')])).toEqual([[1, false], [2, true]]);
    expect(hook.events.map((e) => `${e.entityId}:${e.seq}`)).toEqual(['good:1', 'good:2']);
    refuse = false;
    expect(await store.redeliver('dl')).toBe(2);
    await eventually(async () => hook.events.length === 4 && (await store.list('dl'))[0]?.dead_letters === 0, 15_000, 'the redelivered events');
    expect(hook.events.slice(2).map((e) => `${e.entityId}:${e.seq}`)).toEqual(['bad:1', 'bad:2']);
    expect((await store.list('dl'))[0]).toMatchObject({ dead_letters: 0, dead_lettered: 2 });
  });

  it('keeps each entity\'s order against a receiver whose answers take random times', async () => {
    const { tg, store } = await runtime();
    const hook = await receiver();
    hook.respond = () => new Promise((resolve) => setTimeout(() => resolve(200), Math.random() * 15));
    await store.add(spec({ name: 'jitter', sink: 'webhook', target: hook.url, secret: 'x' }));
    const ids = Array.from({ length: 12 }, (_, i) => `j-${i}`);
    for (const id of ids) await tg.create('ticket', id, {});
    for (const type of ['CLOSE', 'REOPEN', 'CLOSE', 'REOPEN'] as const) for (const id of ids) await tg.send('ticket', id, { type });
    // Started after the writes: one read has every entity's five events, so the order within a batch is tested.
    testFeed(tg);
    await eventually(() => hook.events.length >= 60, 20_000, 'sixty deliveries');
    expect(inSeqOrder(hook.events, new Map(ids.map((id) => [`ticket/${id}`, 5])))).toEqual([]);
  });

  it('loses nothing while the receiver is down: deliveries resume when it listens again', async () => {
    const { tg, store } = await runtime();
    const hook = await receiver();
    await store.add(spec({ name: 'restart', sink: 'webhook', target: hook.url, secret: 'x', maxAttempts: 1000 }));
    testFeed(tg);
    await tg.create('ticket', 'r', {});
    await eventually(() => hook.events.length === 1, 15_000, 'first delivery');
    await hook.close();
    for (const type of ['CLOSE', 'REOPEN', 'CLOSE'] as const) await tg.send('ticket', 'r', { type });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await hook.reopen();
    await eventually(() => hook.events.length >= 4, 15_000, 'deliveries after the restart');
    expect(inSeqOrder(hook.events, new Map([['ticket/r', 4]]))).toEqual([]);
  });

  it('a slow or failing consumer slows neither the gate nor another consumer', async () => {
    const { tg, store } = await runtime();
    const slow = await receiver();
    slow.respond = () => new Promise((resolve) => setTimeout(() => resolve(200), 1000));
    const fast: LifecycleEvent[] = [];
    tg.onTransition('fast', (e) => void fast.push(e));
    await store.add(spec({ name: 'slow', sink: 'webhook', target: slow.url, secret: 'x' }));
    // Nothing listens on port 9: every attempt fails, and is retried for long.
    await store.add(spec({ name: 'failing', sink: 'webhook', target: 'http://127.0.0.1:9/hook', secret: 'x', maxAttempts: 1000 }));
    testFeed(tg);
    await eventually(async () => (await store.list()).length === 3, 10_000, 'three consumers');
    const started = performance.now();
    for (let i = 0; i < 20; i++) await tg.create('ticket', `s-${i}`, {});
    const sending = performance.now() - started;
    await eventually(() => fast.length === 20, 10_000, 'the fast consumer has everything');
    // 20 entities at 16 at once, one second each: the slow consumer needs two seconds for what the fast one had at once.
    expect(slow.events.length).toBeLessThan(20);
    expect(sending).toBeLessThan(10_000);
    expect((await store.list('failing'))[0]).toMatchObject({ delivered: 0, behind: 20 });
  });
});

describe.runIf(postgresAvailable() && inject('natsUrl') !== '')('lifecycle feed: NATS JetStream', () => {
  it('publishes to tollgate.<machine>.<event> with the transition id as Nats-Msg-Id; a redelivery is dropped as a duplicate', async () => {
    const { tg, store } = await runtime();
    const tag = randomBytes(4).toString('hex');
    const stream = `TGTEST_${tag}`;
    const url = `${inject('natsUrl')}?stream=${stream}&prefix=tgtest_${tag}`;
    await store.add(spec({ name: 'js', sink: 'nats', target: url }));
    testFeed(tg);
    await tg.create('ticket', 'n-1', {});
    await tg.send('ticket', 'n-1', { type: 'NOTE', text: 'x' });
    const server = new URL(inject('natsUrl')).host;
    await eventually(async () => (await streamMessages(server, stream)).length === 2, 15_000, 'two messages in the stream');
    const messages = await streamMessages(server, stream);
    expect(messages.map((m) => m.subject)).toEqual([`tgtest_${tag}.ticket.xstate.init`, `tgtest_${tag}.ticket.NOTE`]);
    expect(messages.map((m) => m.msgId)).toEqual(messages.map((m) => m.event.id));
    await store.rewind('js', 'beginning');
    await eventually(async () => (await store.list('js'))[0]?.delivered === 4, 15_000, 'the redelivery');
    expect(await streamMessages(server, stream)).toHaveLength(2);
  });
});
