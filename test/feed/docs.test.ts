import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { help as consumersHelp } from '../../src/cli/commands/consumers.ts';
import { help as workerHelp } from '../../src/cli/commands/worker.ts';
import { consumerStore } from '../../src/store/consumer-store.ts';
import type { LifecycleEvent } from '../../src/feed/event.ts';
import { signWebhook, verifyWebhookSignature } from '../../src/feed/signature.ts';
import { machines } from '../../machines/index.ts';
import { postgresAvailable, testDatabaseUrl, testRuntime } from '../support/databases.ts';
import { eventually } from '../support/processes.ts';
import { stopFeeds, testFeed } from './support.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

// docs/events.md is what a second service follows: its commands, snippets and examples run here as shown.
const docs = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The fenced blocks of `lang` in docs/events.md, in order. */
function blocks(lang: string): string[] {
  return [...docs.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] as string);
}

/** The `tollgate …` commands of a shell block: comments dropped, `;` splits, `$VAR` and `"…"` as a shell reads them. */
function commands(block: string, env: Record<string, string>): string[][] {
  return block
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .flatMap((line) => line.split(';').map((part) => part.trim()))
    .filter((part) => part.startsWith('tollgate '))
    .map((part) => part.split(/\s+/).slice(1).map((word) => word.replace(/^"|"$/g, '').replace(/\$([A-Z_]+)/g, (_, name: string) => env[name] ?? '')));
}

const children: ChildProcess[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await stopFeeds();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Runs an example as `npx tsx examples/<file>` would; resolves with its output so far once a line matches `ready`. */
function runExample(file: string, env: Record<string, string>, ready: RegExp): Promise<{ output: () => string; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/${file}`], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const match = out.match(ready);
      if (match) resolve({ output: () => out, match });
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`examples/${file} exited (${code}): ${out}`)));
  });
}

/** `tollgate …` through the CLI's main, as the shell would run it; its exit code and what it printed. */
async function tollgate(args: string[], db: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const capture = (chunk: unknown) => {
    out.push(String(chunk));
    return true;
  };
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    return { code: await main([...args, ...db]), out: out.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

async function runtime() {
  const tg = await testRuntime('postgres', { machines });
  const db = ['--database-url', await testDatabaseUrl(), '--schema', testAccess(tg).schema];
  return { tg, db, store: consumerStore(testAccess(tg).client, testAccess(tg).schema) };
}

/** One subscription through four transitions: the lines the examples print for it, in order. */
async function subscriptionLife(tg: Awaited<ReturnType<typeof runtime>>['tg'], id: string): Promise<void> {
  await tg.create('subscription', id, { customerId: 'c', plan: 'pro' });
  await tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm' });
  await tg.send('subscription', id, { type: 'PAUSE' });
  await tg.send('subscription', id, { type: 'CANCEL' });
}

describe('docs/events.md', () => {
  it('shows the examples verbatim', () => {
    for (const file of ['feed-webhook.ts', 'feed-jetstream.ts']) {
      expect(docs, file).toContain(readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8').trim());
    }
  });

  it('names only flags that `tollgate consumers` (or `worker`) takes', () => {
    const flags = new Set([...docs.matchAll(/tollgate consumers [^\n`]*/g)].flatMap((m) => m[0].match(/--[a-z-]+/g) ?? []));
    for (const flag of flags) expect(consumersHelp, flag).toContain(flag);
    for (const flag of (docs.match(/`(--[a-z-]+)/g) ?? []).map((f) => f.slice(1))) expect(consumersHelp + workerHelp, flag).toContain(flag);
  });

  it('names the feed metrics and alerts that exist', () => {
    const rules = readFileSync(new URL('../../ops/prometheus-alerts.yml', import.meta.url), 'utf8');
    for (const alert of docs.match(/TollgateFeed[A-Za-z]+/g) ?? []) expect(rules, alert).toContain(`alert: ${alert}`);
    const metricsSource = readFileSync(new URL('../../src/observe/feed-metrics.ts', import.meta.url), 'utf8');
    const named = docs.match(/tollgate_feed_[a-z_]+/g) ?? [];
    expect(named.length).toBeGreaterThanOrEqual(5);
    for (const metric of named) expect(metricsSource, metric).toContain(`'${metric}'`);
  });
});

describe.runIf(postgresAvailable())('docs/events.md against a real feed', () => {
  it('the event shown has the fields a delivered event has; the onTransition snippet runs as shown', { timeout: 60_000 }, async () => {
    const { tg } = await runtime();
    const shown = JSON.parse(blocks('json')[0] as string) as Record<string, unknown>;
    const snippet = blocks('ts').find((b) => b.includes('tg.onTransition('));
    expect(snippet).toBeDefined();
    const appended: Array<[string, LifecycleEvent]> = [];
    const auditLog = { append: async (id: string, event: LifecycleEvent) => void appended.push([id, event]) };
    // The snippet is plain JavaScript: run it with `tg` and `auditLog` in scope.
    new Function('tg', 'auditLog', snippet as string)(tg, auditLog);
    testFeed(tg);
    await eventually(async () => (await consumerStore(testAccess(tg).client, testAccess(tg).schema).list()).length === 1, 10_000, 'the snippet\'s consumer');
    await subscriptionLife(tg, 'doc-1');
    await eventually(() => appended.length === 4, 20_000, 'four events appended');
    expect(appended.map(([id, e]) => [id === e.id, e.seq, e.from, e.to])).toEqual([
      [true, 1, null, 'trial'],
      [true, 2, 'trial', 'active'],
      [true, 3, 'active', 'paused.idle'],
      [true, 4, 'paused.idle', 'canceled'],
    ]);
    expect(Object.keys(appended[3]?.[1] ?? {}).sort()).toEqual(Object.keys(shown).sort());
    expect(appended[3]?.[1]).toMatchObject({ type: shown.type, machine: shown.machine, event: shown.event, to: shown.to });
  });

  it('every `tollgate consumers` command shown runs', { timeout: 60_000 }, async () => {
    const { db, store } = await runtime();
    const block = blocks('sh').find((b) => b.includes('consumers rewind'));
    const shown = commands(block as string, { CRM_SECRET: 'crm-secret-1' });
    expect(shown.map((c) => c[1])).toEqual(['add', 'add', 'list', 'pause', 'resume', 'rewind', 'redeliver', 'remove']);
    for (const args of shown) {
      const { code, out } = await tollgate(args, db);
      expect(code, `tollgate ${args.join(' ')}: ${out}`).toBe(0);
      if (args[1] === 'list') expect(out).toMatch(/crm\s+webhook\s+active/);
    }
    expect((await store.list()).map((c) => c.name)).toEqual(['analytics']);
  });

  it('the webhook example: the steps shown deliver each transition once, in order, and a forged or stale request is refused', { timeout: 90_000 }, async () => {
    const { tg, db } = await runtime();
    const secret = 'change-me-please';
    const receiver = await runExample('feed-webhook.ts', { PORT: '0', FEED_SECRET: secret }, /listening on (http:\/\/127\.0\.0\.1:\d+\/tollgate)/);
    const url = receiver.match[1] as string;
    const steps = commands(blocks('sh').find((b) => b.includes('examples/feed-webhook.ts')) as string, {});
    expect(steps.map((c) => c.slice(0, 2))).toEqual([['consumers', 'add'], ['worker']]);
    const add = (steps[0] as string[]).map((word) => word.replace('http://127.0.0.1:8787/tollgate', url));
    expect((await tollgate(add, db)).code).toBe(0);
    testFeed(tg); // what `tollgate worker` runs (test/feed/worker.test.ts runs the real one)
    await subscriptionLife(tg, 'hooked');
    await tg.create('order', 'not-selected', { orderId: 'o', customerId: 'c', amountCents: 100 });
    await eventually(() => (receiver.output().match(/^subscription\//gm) ?? []).length === 4, 20_000, 'four lines from the receiver');
    expect(receiver.output().split('\n').filter((l) => l.startsWith('subscription/'))).toEqual([
      'subscription/hooked #1 xstate.init: null -> trial',
      'subscription/hooked #2 UPGRADE: trial -> active',
      'subscription/hooked #3 PAUSE: active -> paused.idle',
      'subscription/hooked #4 CANCEL: paused.idle -> canceled',
    ]);
    expect(receiver.output()).not.toContain('order/');

    // The recipe refuses what verifyWebhookSignature refuses: another secret, an altered body, an old timestamp.
    const body = JSON.stringify({ id: 'x', machine: 'subscription', entityId: 'forged', seq: 1, event: { type: 'CANCEL' }, from: 'active', to: 'canceled' });
    const now = Math.floor(Date.now() / 1000);
    const attempts = [signWebhook('another-secret', body, now), signWebhook(secret, `${body} `, now), signWebhook(secret, body, now - 600), 't=1,v1=zz'];
    for (const header of attempts) {
      expect(verifyWebhookSignature({ secret, header, body })).toBe(false);
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'tollgate-signature': header }, body });
      expect(response.status, header).toBe(401);
    }
    const good = signWebhook(secret, body, now);
    expect(verifyWebhookSignature({ secret, header: good, body })).toBe(true);
    expect((await fetch(url, { method: 'POST', headers: { 'tollgate-signature': good }, body })).status).toBe(204);
    expect(receiver.output().match(/refused: bad signature/g)).toHaveLength(4);
  });

  it.runIf(inject('natsUrl') !== '')('the JetStream example: the steps shown deliver each transition of the selected machine', { timeout: 90_000 }, async () => {
    const { tg, db } = await runtime();
    const tag = randomBytes(4).toString('hex');
    const stream = `DOCS_${tag}`;
    const prefix = `docs_${tag}`;
    const server = new URL(inject('natsUrl')).host;
    const subscriber = await runExample('feed-jetstream.ts', { NATS_SERVER: server, FEED_STREAM: stream, FEED_PREFIX: prefix }, /consuming (\S+) from (\S+)/);
    expect(subscriber.match.slice(1)).toEqual([`${prefix}.subscription.>`, stream]);
    const steps = commands(blocks('sh').find((b) => b.includes('examples/feed-jetstream.ts')) as string, {});
    expect(steps).toHaveLength(1);
    const add = (steps[0] as string[]).map((word) => word.replace('nats://127.0.0.1:4222', `${inject('natsUrl')}?stream=${stream}&prefix=${prefix}`));
    expect((await tollgate(add, db)).code).toBe(0);
    testFeed(tg);
    await subscriptionLife(tg, 'streamed');
    await tg.create('order', 'not-selected', { orderId: 'o', customerId: 'c', amountCents: 100 });
    await eventually(() => (subscriber.output().match(new RegExp(`^${prefix}\\.subscription\\.`, 'gm')) ?? []).length === 4, 20_000, 'four lines from the subscriber');
    expect(subscriber.output().split('\n').filter((l) => l.startsWith(prefix))).toEqual([
      `${prefix}.subscription.xstate.init streamed #1: null -> trial`,
      `${prefix}.subscription.UPGRADE streamed #2: trial -> active`,
      `${prefix}.subscription.PAUSE streamed #3: active -> paused.idle`,
      `${prefix}.subscription.CANCEL streamed #4: paused.idle -> canceled`,
    ]);
  });
});
