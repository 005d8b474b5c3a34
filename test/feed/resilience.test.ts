import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { consumerStore } from '../../src/store/consumer-store.ts';
import type { LifecycleEvent } from '../../src/feed/event.ts';
import { postgresAvailable, testDatabaseUrl, testRuntime } from '../support/databases.ts';
import { eventually } from '../support/processes.ts';
import { freePort } from '../support/redis.ts';
import { feedMachines, inSeqOrder, spec, startReceiver, stopFeeds, streamMessages, testFeed, type Receiver } from './support.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

const children: ChildProcess[] = [];
const receivers: Receiver[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await stopFeeds();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(receivers.splice(0).map((r) => r.close().catch(() => {})));
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function started(proc: ChildProcess, marker: RegExp | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => (typeof marker === 'string' ? d.toString().includes(marker) : marker.test(d.toString())) && resolve();
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code, signal) => reject(new Error(`exited before it was ready (${code ?? signal})`)));
  });
}

/** A nats-server of this test's own with JetStream in a temporary directory; restart() keeps its store. */
async function privateNats() {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'tg-nats-'));
  dirs.push(dir);
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(proc);
    await started(proc, 'Server is ready');
  };
  const stop = async () => {
    const p = proc;
    if (!p) return;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url: `nats://127.0.0.1:${port}`, server: `127.0.0.1:${port}`, stop, restart: start };
}

const entities = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe.runIf(postgresAvailable() && inject('natsUrl') !== '')('lifecycle feed: restarts lose nothing', () => {
  it('a NATS restart mid-stream: every transition is in the stream once', { timeout: 60_000 }, async () => {
    const tg = await testRuntime('postgres', { machines: feedMachines });
    const store = consumerStore(testAccess(tg).client, testAccess(tg).schema);
    const nats = await privateNats();
    await store.add(spec({ name: 'js', sink: 'nats', target: `${nats.url}?stream=FEED`, maxAttempts: 1000 }));
    testFeed(tg);
    await tg.create('ticket', 'n', {});
    await eventually(async () => (await streamMessages(nats.server, 'FEED')).length === 1, 15_000, 'first message');
    await nats.stop();
    for (const type of ['CLOSE', 'REOPEN', 'CLOSE', 'REOPEN'] as const) await tg.send('ticket', 'n', { type });
    await new Promise((resolve) => setTimeout(resolve, 700));
    await nats.restart();
    await eventually(async () => (await store.list('js'))[0]?.behind === 0, 30_000, 'the consumer caught up');
    const messages = await streamMessages(nats.server, 'FEED');
    expect(messages.map((m) => m.event.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a feed process killed mid-delivery: another takes over at the cursor, nothing lost, order kept', { timeout: 60_000 }, async () => {
    const tg = await testRuntime('postgres', { machines: feedMachines });
    const store = consumerStore(testAccess(tg).client, testAccess(tg).schema);
    const hook = await startReceiver();
    receivers.push(hook);
    let inFlight = 0;
    hook.respond = async () => {
      inFlight++;
      await new Promise((resolve) => setTimeout(resolve, 30));
      return 200;
    };
    await store.add(spec({ name: 'hook', sink: 'webhook', target: hook.url, secret: 'k' }));
    const ids = entities(10, 'k');
    const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/feed-process.ts', import.meta.url))], {
      env: { ...process.env, DATABASE_URL: await testDatabaseUrl(), SCHEMA: testAccess(tg).schema },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(proc);
    await started(proc, 'ready');
    for (const id of ids) await tg.create('ticket', id, {});
    for (const id of ids) for (const type of ['CLOSE', 'REOPEN', 'CLOSE'] as const) await tg.send('ticket', id, { type });
    await eventually(() => inFlight >= 5, 20_000, 'deliveries under way');
    proc.kill('SIGKILL');
    const delivered = hook.events.length;
    testFeed(tg);
    await eventually(async () => (await store.list('hook'))[0]?.behind === 0, 30_000, 'the new process caught up');
    expect(delivered).toBeLessThan(40);
    expect(new Set(hook.events.map((e) => e.id)).size).toBe(40);
    expect(inSeqOrder(hook.events, new Map(ids.map((id) => [`ticket/${id}`, 4])))).toEqual([]);
  });

  it('1,000 concurrent transitions over 100 entities reach every consumer in per-entity order; two feed processes deliver none twice', { timeout: 60_000 }, async () => {
    const tg = await testRuntime('postgres', { machines: feedMachines, maxConnections: 20 });
    const store = consumerStore(testAccess(tg).client, testAccess(tg).schema);
    const hook = await startReceiver();
    receivers.push(hook);
    const inProcess: LifecycleEvent[] = [];
    tg.onTransition('local', (e) => void inProcess.push(e));
    const stream = `SCALE_${process.pid}_${Date.now()}`;
    await store.add(spec({ name: 'hook', sink: 'webhook', target: hook.url, secret: 'k' }));
    await store.add(spec({ name: 'js', sink: 'nats', target: `${inject('natsUrl')}?stream=${stream}&prefix=${stream.toLowerCase()}` }));
    testFeed(tg);
    testFeed(tg);
    await eventually(async () => (await store.list()).length === 3, 10_000, 'three consumers');
    const ids = entities(100, 'e');
    await Promise.all(ids.map((id) => tg.create('ticket', id, {})));
    // 900 more, ten per entity, all entities at once (each entity's sends one after the other: a seq per send).
    await Promise.all(ids.map(async (id) => {
      for (let i = 0; i < 9; i++) await tg.send('ticket', id, { type: 'NOTE', text: String(i) });
    }));
    const expected = new Map(ids.map((id) => [`ticket/${id}`, 10]));
    await eventually(async () => (await store.list()).every((c) => c.behind === 0), 45_000, 'every consumer caught up');
    const published = (await streamMessages(new URL(inject('natsUrl')).host, stream)).map((m) => m.event);
    for (const [name, got] of [['in-process', inProcess], ['webhook', hook.events], ['jetstream', published]] as const) {
      expect(inSeqOrder(got, expected), name).toEqual([]);
      expect(got, name).toHaveLength(1000);
    }
  });
});
