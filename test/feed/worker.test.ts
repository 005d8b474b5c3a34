import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { consumerStore } from '../../src/store/consumer-store.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { startDaemon, type Daemon } from '../cli/support.ts';
import { postgresAvailable, testDatabaseUrl, testRuntime } from '../support/databases.ts';
import { eventually } from '../support/processes.ts';
import { uniquePrefix } from '../support/redis.ts';
import { feedMachines, inSeqOrder, spec, startReceiver, type Receiver } from './support.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

const machinesModule = fileURLToPath(new URL('./fixtures/machines-module.ts', import.meta.url));
const daemons: Daemon[] = [];
const receivers: Receiver[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  await Promise.all(receivers.splice(0).map((r) => r.close().catch(() => {})));
});

// The feed as it is deployed: `tollgate worker` (the real CLI process, its default lease of 15 s) delivers a
// webhook consumer; it is SIGKILLed mid-delivery and a new worker takes the consumer over from its cursor.
describe.runIf(postgresAvailable() && inject('redisUrl') !== '')('lifecycle feed in `tollgate worker`', () => {
  it('delivers to a webhook receiver and survives a SIGKILL: every transition arrives, each entity in seq order', { timeout: 120_000 }, async () => {
    const tg = await testRuntime('postgres', { machines: feedMachines });
    const store = consumerStore(testAccess(tg).client, testAccess(tg).schema);
    const hook = await startReceiver();
    receivers.push(hook);
    hook.respond = () => new Promise((resolve) => setTimeout(() => resolve(200), 60));
    await store.add(spec({ name: 'crm', sink: 'webhook', target: hook.url, secret: 'worker-secret' }));
    const env = {
      DATABASE_URL: await testDatabaseUrl(),
      REDIS_URL: inject('redisUrl'),
      TOLLGATE_SCHEMA: testAccess(tg).schema,
      TOLLGATE_QUEUE_PREFIX: uniquePrefix(inject('redisUrl')),
      TOLLGATE_LOG_LEVEL: 'warn',
    };
    const worker = () => startDaemon(['worker', '--machines', machinesModule, '--concurrency', '2'], /tollgate worker: running [^\n]*\bfeed\b/, { env });

    const first = await worker();
    daemons.push(first);
    const ids = Array.from({ length: 30 }, (_, i) => `w-${i}`);
    for (const id of ids) await tg.create('ticket', id, {});
    for (const type of ['CLOSE', 'REOPEN', 'CLOSE'] as const) for (const id of ids) await tg.send('ticket', id, { type });
    await eventually(() => hook.events.length >= 10, 30_000, 'the worker delivering');
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    const atKill = new Set(hook.events.map((e) => e.id)).size;
    // Written while no feed runs.
    for (const id of ids) await tg.send('ticket', id, { type: 'NOTE', text: 'after the kill' });

    const second = await worker();
    daemons.push(second);
    const s = quoteIdent(testAccess(tg).schema);
    const committed = await testAccess(tg).client.query<{ id: string }>(`SELECT id FROM ${s}.transitions WHERE machine = 'ticket'`);
    expect(committed).toHaveLength(150);
    // The dead worker's lease (15 s) runs out first: then the new one resumes at the cursor.
    await eventually(() => new Set(hook.events.map((e) => e.id)).size === 150, 60_000, 'every transition at the receiver');
    expect(atKill).toBeLessThan(150);
    expect(new Set(hook.events.map((e) => e.id))).toEqual(new Set(committed.map((r) => r.id)));
    expect(inSeqOrder(hook.events, new Map(ids.map((id) => [`ticket/${id}`, 5])))).toEqual([]);
    await eventually(async () => (await store.list('crm'))[0]?.behind === 0, 15_000, 'the cursor past everything');
    expect(await second.stop()).toBe(0);
    expect((await store.list('crm'))[0]?.lease_owner).toBeNull();
  });
});
