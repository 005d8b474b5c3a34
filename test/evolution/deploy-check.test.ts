import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { z } from 'zod';
import { ManualClock } from '../../src/clock.ts';
import { defineMachine, type MachineRegistry } from '../../src/engine/definition.ts';
import { deployCheck, type DeployCheckReport } from '../../src/evolution/deploy-check.ts';
import { machines } from '../../machines/index.ts';
import { machines as release2 } from '../../examples/evolution/machines-v2.ts';
import { machines as release2WithoutMigration } from '../../examples/evolution/machines-v2-no-migration.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import type { Tollgate } from '../../src/runtime/create-tollgate.ts';
import { backends, testRuntime, type Backend } from '../support/databases.ts';
import { cliDatabase } from '../support/evolution.ts';
import { DAY, start } from '../support/subscriptions.ts';
import { runCli } from '../cli/support.ts';
import { testAccess } from '../../src/runtime/test-access.ts';
import { freePort, sharedRedisUrl, uniquePrefix } from '../support/redis.ts';
import { bullmqTransport } from '../../src/jobs/transports/bullmq.ts';
import { readQueuedEvents } from '../../src/jobs/queued-events.ts';
import { eventEnqueuer } from '../../workers/events.ts';

// A door that closes itself after a minute (v1); v2 dropped the self-closing: a scheduled timer fires into nothing.
const door = (version: number, selfClosing: boolean) =>
  defineMachine({
    machine: setup({}).createMachine({
      id: 'door',
      initial: 'closed',
      states: { closed: { on: { OPEN: 'open' } }, open: { on: { CLOSE: 'closed' }, ...(selfClosing ? { after: { 60_000: 'closed' } } : {}) } },
    }),
    version,
    input: z.object({}),
    events: { OPEN: z.strictObject({}), CLOSE: z.strictObject({}) },
  });

/** Release 1 activity: subscriptions in grace (3), active (1), trial (2), canceled (1); doors open (2) and closed (1); a payout. */
async function releaseOne(tg: Tollgate<MachineRegistry>): Promise<void> {
  const customer = (id: string) => ({ customerId: `c-${id}`, plan: 'pro', gracePeriodMs: 4 * DAY });
  for (const id of ['g1', 'g2', 'g3', 'a1', 't1', 't2', 'x1']) await tg.create('subscription', id, customer(id));
  const upgrade: { type: string } = { type: 'UPGRADE', paymentMethodId: 'pm' } as { type: string };
  for (const id of ['g1', 'g2', 'g3', 'a1']) await tg.send('subscription', id, upgrade);
  for (const id of ['g1', 'g2', 'g3']) await tg.send('subscription', id, { type: 'PAYMENT_FAILED' });
  await tg.send('subscription', 'x1', { type: 'CANCEL' });
  for (const id of ['d1', 'd2', 'd3']) await tg.create('door', id, {});
  for (const id of ['d1', 'd2']) await tg.send('door', id, { type: 'OPEN' });
  await tg.create('payout', 'p1', { payoutId: 'p1', customerId: 'c-p', amountCents: 1000 });
}

const kinds = (report: DeployCheckReport) => report.problems.map((p) => [p.machine, p.kind, p.machineVersion, p.state, p.subject, p.count]);

describe.each(backends())('deploy-check on %s', (backend) => {
  let tg: Tollgate<MachineRegistry>;
  const s = () => quoteIdent(testAccess(tg).schema);
  beforeAll(async () => {
    tg = (await testRuntime(backend, { machines: { ...machines, door: door(1, true) }, clock: new ManualClock(start) })) as unknown as Tollgate<MachineRegistry>;
    await releaseOne(tg);
  }, 120_000);

  it('without the migration: the grace entities cannot be restored, named with their count and ids (exit 1)', async () => {
    const report = await deployCheck(testAccess(tg).client, testAccess(tg).schema, { ...release2WithoutMigration, door: door(1, true) });
    expect(report.ok).toBe(false);
    expect(kinds(report)).toEqual([['subscription', 'unrestorable', 1, 'grace', undefined, 3]]);
    expect(report.problems[0]!.examples).toEqual(['g1', 'g2', 'g3']);
    expect(report.problems[0]!.detail).toMatch(/version 2 restores state 'grace' only as 'grace.first_notice' \(a compound state now\): add a migration/);
    const paths = report.machines.find((m) => m.machine === 'subscription')!.paths;
    expect(paths.map((p) => [p.state, p.path, p.count])).toEqual(
      expect.arrayContaining([['grace', 'blocked', 3], ['active', 'restores', 1], ['trial', 'restores', 2], ['canceled', 'restores', 1]]),
    );
  });

  it('with the migration: every entity has a path, grace migrates to grace.first_notice with its timers re-derived', async () => {
    const report = await deployCheck(testAccess(tg).client, testAccess(tg).schema, { ...release2, door: door(1, true) });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    const subscription = report.machines.find((m) => m.machine === 'subscription')!;
    expect(subscription.paths.find((p) => p.state === 'grace')).toMatchObject({ path: 'migrates', count: 3, toStates: { 'grace.first_notice': 3 } });
    expect(subscription.timers).toMatchObject({ cancelled: 3, armed: 3 });
    expect(subscription.entities).toBe(7);
  });

  it('names removed timers, removed machines, newer versions, pending effects without a type or handler, unsent events and an unknown policy', async () => {
    // Pending work of the kinds deploy-check reads: an unsent follow-up, an unsent compensation, a policy row.
    const [effect] = await testAccess(tg).client.query<{ id: string }>(`SELECT id FROM ${s()}.effects WHERE machine = 'subscription' AND entity_id = 'a1' ORDER BY id LIMIT 1`);
    await testAccess(tg).client.query(`UPDATE ${s()}.effects SET follow_up = '{"type":"PAYMENT_BOUNCED"}'::jsonb WHERE id = $1::text`, [effect!.id]);
    const [failed] = await testAccess(tg).client.query<{ id: string }>(`SELECT id FROM ${s()}.effects WHERE machine = 'subscription' AND entity_id = 'g1' ORDER BY id LIMIT 1`);
    await testAccess(tg).client.query(`UPDATE ${s()}.effects SET status = 'failed', follow_up = '{"type":"CHARGE_REFUSED"}'::jsonb WHERE id = $1::text`, [failed!.id]);
    await testAccess(tg).client.query(
      `INSERT INTO ${s()}.active_policies (machine, version, activated_at, activated_by, reason) VALUES ('payout', '2026-12-24-holiday', now(), 'test', 'a newer release')`,
    );
    const { payout: _removed, ...withoutPayout } = release2;
    const report = await deployCheck(testAccess(tg).client, testAccess(tg).schema, { ...withoutPayout, door: door(2, false) }, { handlerTypes: ['chargePayment'] });
    expect(report.ok).toBe(false);
    const found = kinds(report);
    expect(found).toContainEqual(['payout', 'machine-removed', undefined, undefined, undefined, 1]);
    expect(found).toContainEqual(['door', 'timer-removed', 1, 'open', 'xstate.after.60000.door.open', 2]);
    expect(found).toContainEqual(['subscription', 'effect-no-handler', undefined, undefined, 'sendEmail', expect.any(Number)]);
    expect(found).toContainEqual(['subscription', 'queued-event-removed', undefined, undefined, 'PAYMENT_BOUNCED', 1]);
    expect(found).toContainEqual(['subscription', 'compensation-event-removed', undefined, undefined, 'CHARGE_REFUSED', 1]);
    expect(found.filter((p) => p[1] !== 'machine-removed').every((p) => p[0] !== 'payout')).toBe(true);
    expect(report.problems.find((p) => p.kind === 'timer-removed')!.examples).toEqual(['d1', 'd2']);

    // The old door against a registry of version 1 after version 2 wrote one: a rollback too far.
    // As release 2's gate would have written it (the statement marks itself as the gate's, as store/commit.ts does).
    await testAccess(tg).client.query(`UPDATE ${s()}.entities SET machine_version = 2 WHERE machine = 'door' AND id = 'd3' AND set_config('tollgate.gate', 'on', true) = 'on'`);
    const policyCheck = await deployCheck(testAccess(tg).client, testAccess(tg).schema, { ...release2, door: door(1, true) }, { policies: { payout: [{ version: '2026-12-01-standard', check: () => ({ allow: true }) }] } });
    expect(kinds(policyCheck)).toContainEqual(['door', 'version-ahead', 2, 'closed', undefined, 1]);
    expect(kinds(policyCheck)).toContainEqual(['payout', 'policy-unknown', undefined, undefined, '2026-12-24-holiday', 0]);
    expect(policyCheck.machines.find((m) => m.machine === 'payout')!.policyVersion).toBe('2026-12-24-holiday');
    expect(policyCheck.machines.find((m) => m.machine === 'subscription')!.policyVersion).toBeNull();
  });
});

describe.each(backends())('tollgate deploy-check (the real CLI) on %s', (backend: Backend) => {
  let target: string[];
  let remove: () => void;
  beforeAll(async () => {
    ({ args: target, remove } = await cliDatabase(backend, async (tg) => {
      const upgrade: { type: string } = { type: 'UPGRADE', paymentMethodId: 'pm' } as { type: string };
      for (const id of ['g1', 'g2', 'a1']) {
        await tg.create('subscription', id, { customerId: `c-${id}`, plan: 'pro' });
        await tg.send('subscription', id, upgrade);
      }
      for (const id of ['g1', 'g2']) await tg.send('subscription', id, { type: 'PAYMENT_FAILED' });
    }));
  }, 120_000);
  afterAll(() => remove());

  it('fails naming grace and its count without the migration, passes with it, and prints JSON', async () => {
    const without = await runCli(['deploy-check', '--machines', 'examples/evolution/machines-v2-no-migration.ts', ...target], { timeoutMs: 60_000 });
    expect(without.stderr).not.toMatch(/TG_|Error/);
    expect(without.code).toBe(1);
    expect(without.stdout).toMatch(/subscription\s+unrestorable\s+1\s+grace\s+2\s+g1, g2/);
    expect(without.stdout).toMatch(/restores state 'grace' only as 'grace.first_notice'/);
    expect(without.stdout).toMatch(/queued events: not checked \(no Redis configured/); // said, not skipped silently

    const withMigration = await runCli(['deploy-check', '--machines', 'examples/evolution/machines-v2.ts', '--json', ...target], { timeoutMs: 60_000 });
    expect(withMigration.code).toBe(0);
    const report = JSON.parse(withMigration.stdout) as DeployCheckReport;
    expect(report).toMatchObject({ ok: true, problems: [], queuedEvents: { checked: false, reason: expect.stringMatching(/no Redis configured/) } });
    expect(report.machines.find((m) => m.machine === 'subscription')!.paths).toContainEqual({ machineVersion: 1, state: 'grace', path: 'migrates', count: 2, toStates: { 'grace.first_notice': 2 } });
  }, 120_000);

  // Loading a release's handlers does not depend on the database: once, on the first backend (Postgres when it runs).
  it.runIf(backend === backends()[0])('--handlers: sees the handlers the module registers, and names an effect type of the release left without one (exit 1)', async () => {
    // A release's registerHandlers module: a handler for every effect type the release declares, but those in SKIP.
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-handlers-'));
    const handlersModule = (skip: readonly string[]) => {
      const file = join(dir, `handlers-${skip.length}.mjs`);
      writeFileSync(
        file,
        `const skip = new Set(${JSON.stringify(skip)});\n` +
          'export default function registerHandlers(tg) {\n' +
          '  for (const type of tg.effectTypes()) if (!skip.has(type)) tg.effect(type, async () => ({ result: {} }));\n' +
          '}\n',
      );
      return file;
    };
    try {
      const release = ['deploy-check', '--machines', 'examples/evolution/machines-v2.ts', ...target];
      const complete = await runCli([...release, '--handlers', handlersModule([]), '--json'], { timeoutMs: 60_000 });
      expect(complete.stderr).not.toMatch(/TG_|Error/);
      const report = JSON.parse(complete.stdout) as DeployCheckReport;
      expect(report.problems.filter((p) => p.kind === 'effect-no-handler')).toEqual([]);
      expect(complete.code).toBe(0);

      // chargePayment's handler removed while release 2's subscription still charges (charges wait for it): named, exit 1.
      const missing = await runCli([...release, '--handlers', handlersModule(['chargePayment'])], { timeoutMs: 60_000 });
      expect(missing.stderr).not.toMatch(/TG_|Error/);
      expect(missing.code).toBe(1);
      expect(missing.stdout).toMatch(/subscription\s+effect-no-handler\s+chargePayment\s+\d+\s+a1, g1, g2/);
      expect(missing.stdout).toMatch(/pending effects of type 'chargePayment' and no handler for it in the release/);
      expect(missing.stdout.match(/effect-no-handler/g)).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('refuses bad input with a usage error (exit 2)', async () => {
    const bad = await runCli(['deploy-check', '--machines', 'examples/evolution/machines-v2.ts', '--batch', 'zero', ...target]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--batch must be an integer/);
    const extra = await runCli(['deploy-check', 'subscription', ...target]);
    expect(extra.code).toBe(2);
  });
});

describe.runIf(sharedRedisUrl() !== '')
  .each(backends())('tollgate deploy-check reads the events queued in Redis on %s', (backend: Backend) => {
  let target: string[];
  let remove: () => void;
  const prefix = uniquePrefix();
  beforeAll(async () => {
    ({ args: target, remove } = await cliDatabase(backend, async (tg) => {
      for (const id of ['a1', 'a2']) await tg.create('subscription', id, { customerId: `c-${id}`, plan: 'pro', paymentMethodId: 'pm' });
    }));
    // Queued by release 1's producers (tg.enqueue) and not yet taken by a worker: the workers' queue for this schema.
    const schema = target.includes('--schema') ? target[target.indexOf('--schema') + 1]! : 'tollgate';
    const transport = bullmqTransport({ redisUrl: sharedRedisUrl(), prefix, namespace: schema });
    const enqueue = eventEnqueuer(transport, () => 1);
    await enqueue('subscription', 'a1', { type: 'UPGRADE', paymentMethodId: 'pm_2' }, {}); // release 2 takes it
    await enqueue('subscription', 'a1', { type: 'REFUND' }, { idempotencyKey: 'r1' }); // a type release 2 lacks
    await enqueue('subscription', 'a2', { type: 'REFUND' }, { idempotencyKey: 'r2' });
    await enqueue('widget', 'w1', { type: 'GO' }, {}); // a machine release 2 does not register
    // A job waiting out a retry's backoff (delayed) is read too.
    await transport.add('events', [{ id: 'ev-delayed-refund', delayMs: 3_600_000, data: { machine: 'subscription', entityId: 'a2', event: { type: 'REFUND' }, idempotencyKey: 'r3' } }]);
    await transport.close();
  }, 120_000);
  afterAll(() => remove());

  it('reads waiting and delayed jobs page by page, taking or changing none', async () => {
    const schema = target.includes('--schema') ? target[target.indexOf('--schema') + 1]! : 'tollgate';
    const pages: string[][] = [];
    for await (const page of readQueuedEvents({ redisUrl: sharedRedisUrl(), prefix, namespace: schema, pageSize: 2 })) pages.push(page.map((job) => `${job.machine}/${job.entityId}/${job.type}`));
    expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
    expect(pages.flat().sort()).toEqual(['subscription/a1/REFUND', 'subscription/a1/UPGRADE', 'subscription/a2/REFUND', 'subscription/a2/REFUND', 'widget/w1/GO']);
    const again = [];
    for await (const page of readQueuedEvents({ redisUrl: sharedRedisUrl(), prefix, namespace: schema })) again.push(...page);
    expect(again).toHaveLength(5); // still all there
  });

  it('names queued events of types the release lacks with counts and examples (exit 1)', async () => {
    const redis = ['--redis-url', sharedRedisUrl(), '--queue-prefix', prefix];
    const found = await runCli(['deploy-check', '--machines', 'examples/evolution/machines-v2.ts', ...redis, ...target], { timeoutMs: 60_000 });
    expect(found.stderr).not.toMatch(/TG_|Error/);
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/queued events: 5 waiting in Redis/);
    expect(found.stdout).toMatch(/subscription\s+enqueued-event-removed\s+REFUND\s+3\s+a1, a2/);
    expect(found.stdout).toMatch(/widget\s+enqueued-event-removed\s+GO\s+1\s+w1/);
    expect(found.stdout).toMatch(/jobs ev-/);
    const json = await runCli(['deploy-check', '--machines', 'examples/evolution/machines-v2.ts', '--json', ...redis, ...target], { timeoutMs: 60_000 });
    const report = JSON.parse(json.stdout) as DeployCheckReport;
    expect(report).toMatchObject({ ok: false, queuedEvents: { checked: true, jobs: 5 } });
    expect(report.problems.map((p) => [p.machine, p.kind, p.subject, p.count])).toEqual([
      ['subscription', 'enqueued-event-removed', 'REFUND', 3],
      ['widget', 'enqueued-event-removed', 'GO', 1],
    ]);
    // The queue of another schema (or prefix) is not this deployment's: nothing queued there.
    const other = await runCli(['deploy-check', '--machines', 'examples/evolution/machines-v2.ts', '--redis-url', sharedRedisUrl(), '--queue-prefix', `${prefix}x`, ...target], { timeoutMs: 60_000 });
    expect(other.code).toBe(0);
    expect(other.stdout).toMatch(/queued events: 0 waiting in Redis/);
    // A configured Redis that is not there is an unreachable service (exit 3), not a check that passed.
    const gone = await runCli(['deploy-check', '--machines', 'examples/evolution/machines-v2.ts', '--redis-url', `redis://127.0.0.1:${await freePort()}`, ...target], { timeoutMs: 60_000 });
    expect(gone).toMatchObject({ code: 3, stderr: expect.stringMatching(/cannot be reached to read the queued events/) });
  }, 180_000);
});
