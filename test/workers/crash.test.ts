import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { createDemoTables, registerDemoHandlers } from '../../machines/demo-handlers.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { testDatabaseUrl, testRuntime } from '../support/databases.ts';
import { eventually, stopAll, testProcesses, transportKinds, type TransportKind } from '../support/processes.ts';
import { PrivateRedis, sharedRedisUrl, uniquePrefix } from '../support/redis.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

afterEach(stopAll);
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

const fixture = fileURLToPath(new URL('./fixtures/process.ts', import.meta.url));

/**
 * Starts the fixture; resolves when it is ready, and gives its exit. With `killedEarly`, an exit before `ready` is
 * expected too: a relay that finds pending rows at start reaches its fault point in its first round, which may
 * run before startProcesses returns.
 */
async function child(env: Record<string, string>, killedEarly = false): Promise<{ exited: Promise<NodeJS.Signals | null> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fixture], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.once('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    proc.once('exit', (code, signal) => (killedEarly && signal === 'SIGKILL' ? resolve() : reject(new Error(`fixture exited before ready (${code ?? signal})`))));
  });
  return { exited };
}

async function world(kind: TransportKind, redisUrl = sharedRedisUrl(), except: string[] = []) {
  const tg = await testRuntime('postgres', { machines, maxConnections: 4 });
  registerDemoHandlers(tg, { except });
  await createDemoTables(tg); // made on first use by the handlers; read here before any may have run
  const s = quoteIdent(testAccess(tg).schema);
  const prefix = kind === 'bullmq' ? uniquePrefix(redisUrl) : '';
  const env = { DATABASE_URL: await testDatabaseUrl(), SCHEMA: testAccess(tg).schema, TRANSPORT: kind, REDIS_URL: kind === 'bullmq' ? redisUrl : '', PREFIX: prefix };
  const emails = () =>
    testAccess(tg).client.query<{ effect_id: string; calls: number }>(`SELECT effect_id, calls FROM ${s}.demo_emails ORDER BY effect_id`);
  const effectStates = () =>
    testAccess(tg).client.query<{ id: string; status: string; attempts: number }>(`SELECT id, status, attempts FROM ${s}.effects WHERE type = 'sendEmail' ORDER BY id`);
  /** Subscriptions paused: each commit writes one sendEmail effect. */
  const createMany = async (n: number) => {
    for (let i = 0; i < n; i++) await tg.create('subscription', `s${i}`, { customerId: `c${i}`, plan: 'pro' });
  };
  const pauseMany = async (n: number) => {
    await createMany(n);
    for (let i = 0; i < n; i++) await tg.send('subscription', `s${i}`, { type: 'CANCEL' });
  };
  return { tg, env, prefix, emails, effectStates, createMany, pauseMany };
}

describe.each(transportKinds())('crashes on %s', (kind) => {
  it('runs an effect once more, never twice to completion, after its worker is SIGKILLed mid-handler and restarted', async () => {
    const w = await world(kind);
    const relay = kind === 'bullmq' ? await child({ ...w.env, ROLE: 'relay' }) : undefined;
    const worker = await child({ ...w.env, ROLE: kind === 'bullmq' ? 'worker' : 'all', KILL_AT: 'mid-email' });
    await w.pauseMany(3);
    expect(await worker.exited).toBe('SIGKILL');
    // The restarted worker (here: this process) picks the job up again: BullMQ after the lock expires, in-process
    // through the sweeper (the queue died with the process).
    const restarted = await testProcesses(w.tg, kind, { queuePrefix: w.prefix || undefined, relay: kind !== 'bullmq' });
    if (kind === 'in-process') await restarted.sweep({ minAgeMs: 0 });
    await eventually(async () => (await w.effectStates()).every((e) => e.status === 'completed'), 20_000, 'every email effect to complete');
    const emails = await w.emails();
    expect(emails).toHaveLength(3); // one email per effect: the sink honours the effect id
    expect(emails.map((e) => e.calls).sort()).toEqual([1, 1, 2]); // only the killed run was repeated
    expect((await w.effectStates()).map((e) => e.attempts)).toEqual([1, 1, 1]); // each completion recorded once
    void relay;
  });

  it('dispatches again, and runs once, the effects of a relay SIGKILLed between its claim and adding the jobs', async () => {
    const w = await world(kind);
    await w.pauseMany(5);
    const relay = await child({ ...w.env, ROLE: kind === 'bullmq' ? 'relay' : 'all', KILL_AT: 'relay.after-claim-before-enqueue' }, true);
    expect(await relay.exited).toBe('SIGKILL');
    // The claim committed (dispatched), no job was added: what Redis losing the jobs leaves behind.
    expect((await w.effectStates()).map((e) => e.status)).toEqual(Array(5).fill('dispatched'));
    // The sweep loop's own rounds leave them alone (too young), so this shows the relay alone does not bring them back.
    const processes = await testProcesses(w.tg, kind, { queuePrefix: w.prefix || undefined, tuning: { sweepMinAgeMs: 60_000 } });
    await new Promise((r) => setTimeout(r, 300));
    expect(await w.emails()).toEqual([]);
    expect((await processes.sweep({ minAgeMs: 0 })).effects).toHaveLength(5);
    await eventually(async () => (await w.effectStates()).every((e) => e.status === 'completed'), 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect((await w.emails()).map((e) => e.calls)).toEqual([1, 1, 1, 1, 1]);
    expect(await processes.sweep({ minAgeMs: 0 })).toEqual({ effects: [], timers: [] }); // settled: nothing to repair
  });

  it('dispatches again, and runs once, the effect of a commit whose process died before its relay added the job', async () => {
    const w = await world(kind);
    await w.createMany(3);
    // The gate and the relay in one process (direct hand-off): it commits the first cancellation and dies before
    // the add, so the later cancellations never happen.
    const gate = await child({ ...w.env, ROLE: 'relay', KILL_AT: 'relay.after-commit-before-add', CANCELS: '3' }, true);
    expect(await gate.exited).toBe('SIGKILL');
    expect((await w.effectStates()).map((e) => e.status)).toEqual(['dispatched']); // committed as handed off, no job
    const processes = await testProcesses(w.tg, kind, { queuePrefix: w.prefix || undefined, tuning: { sweepMinAgeMs: 60_000 } });
    await new Promise((r) => setTimeout(r, 300));
    expect(await w.emails()).toEqual([]); // no relay round brings it back: it is not pending
    expect((await processes.sweep({ minAgeMs: 0 })).effects).toHaveLength(1);
    await eventually(async () => (await w.effectStates()).every((e) => e.status === 'completed'), 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect((await w.emails()).map((e) => e.calls)).toEqual([1]);
    expect(await processes.sweep({ minAgeMs: 0 })).toEqual({ effects: [], timers: [] });
  });
});

describe.runIf(sharedRedisUrl() !== '')('Redis restarted with jobs in flight', () => {
  it('completes every effect exactly once after SHUTDOWN NOSAVE and a restart', async () => {
    const redis = await PrivateRedis.start();
    const w = await world('bullmq', redis.url, ['sendEmail']);
    let inFlight = 0;
    let maxInFlight = 0;
    w.tg.effect('sendEmail', async (ctx) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      await testAccess(w.tg).client.query(
        `INSERT INTO ${quoteIdent(testAccess(w.tg).schema)}.demo_emails (effect_id, customer_id, template) VALUES ($1::text, 'c', 't')
         ON CONFLICT (effect_id) DO UPDATE SET calls = ${quoteIdent(testAccess(w.tg).schema)}.demo_emails.calls + 1`,
        [ctx.effectId],
      );
      inFlight--;
      return {};
    });
    const processes = await testProcesses(w.tg, 'bullmq', { redisUrl: redis.url, queuePrefix: w.prefix, concurrency: 4, tuning: { sweepMinAgeMs: 500 } });
    await w.pauseMany(60);
    await eventually(async () => (await w.emails()).length >= 5, 10_000, 'some effects to run');
    await redis.shutdownNoSave();
    await new Promise((r) => setTimeout(r, 300));
    await redis.start();
    // The sweeper finds dispatched effects whose job Redis lost and dispatches them again.
    await eventually(async () => {
      await processes.sweep({ minAgeMs: 500 });
      return (await w.effectStates()).every((e) => e.status === 'completed');
    }, 30_000, 'every effect to complete after the restart');
    const states = await w.effectStates();
    expect(states).toHaveLength(60);
    expect(states.every((e) => e.attempts === 1)).toBe(true);
    const emails = await w.emails();
    expect(emails).toHaveLength(60);
    // A handler running while Redis died may run once more (its job was lost mid-run): at most the in-flight ones.
    const repeated = emails.filter((e) => e.calls > 1).length;
    expect(repeated).toBeLessThanOrEqual(maxInFlight);
  });
  it('stops within its deadline while Redis is down; effects committed meanwhile run once Redis is back', async () => {
    const redis = await PrivateRedis.start();
    const w = await world('bullmq', redis.url);
    const processes = await testProcesses(w.tg, 'bullmq', { redisUrl: redis.url, queuePrefix: w.prefix });
    await w.pauseMany(2);
    await eventually(async () => (await w.emails()).length === 2, 10_000, 'the first emails');
    await redis.shutdownNoSave();
    // Committed while Redis is gone: the relay's add waits on a connection that is not coming back.
    for (const id of ['s2', 's3']) {
      await w.tg.create('subscription', id, { customerId: 'c', plan: 'pro' });
      await w.tg.send('subscription', id, { type: 'CANCEL' });
    }
    const at = Date.now();
    await processes.stop({ deadlineMs: 1000 });
    // It hung for good before: BullMQ's close waits for Redis. Now: one deadline, for the relay's round and the
    // running handlers side by side, then about 2.5 s of forced closing (workers/index.ts). One after the other, the
    // two deadlines took 5.4 s here.
    expect(Date.now() - at).toBeLessThan(1000 + 3500);
    await redis.start();
    const restarted = await testProcesses(w.tg, 'bullmq', { redisUrl: redis.url, queuePrefix: w.prefix });
    await eventually(async () => {
      await restarted.sweep({ minAgeMs: 0 });
      return (await w.effectStates()).every((e) => e.status === 'completed');
    }, 30_000, 'every effect to complete after Redis is back');
    expect((await w.emails()).map((e) => e.calls)).toEqual([1, 1, 1, 1]);
  });
});
