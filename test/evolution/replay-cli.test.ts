import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { MachineRegistry } from '../../src/engine/definition.ts';
import { replayHistory, type ReplayRunReport } from '../../src/replay/replay-run.ts';
import type { Tollgate } from '../../src/runtime/create-tollgate.ts';
import { machines } from '../../machines/index.ts';
import { machines as release2 } from '../../examples/evolution/machines-v2.ts';
import { backends, testRuntime, type Backend } from '../support/databases.ts';
import { cliDatabase, recordSubscriptionActivity } from '../support/evolution.ts';
import { start } from '../support/subscriptions.ts';
import { runCli } from '../cli/support.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

const findings = (report: ReplayRunReport) => report.findings.map((f) => [f.machine, f.state, f.eventType, f.kind, f.count, f.examples]);
const graceSplit = [
  ['subscription', 'active', 'PAYMENT_FAILED', 'timers', 2, ['dunned', 'recovered']],
  ['subscription', 'grace', 'xstate.after.gracePeriod.subscription.grace', 'effects', 1, ['dunned']],
];

describe.each(backends())('replayHistory on %s', (backend) => {
  let tg: Tollgate<MachineRegistry>;
  beforeAll(async () => {
    const clock = new ManualClock(start);
    tg = (await testRuntime(backend, { machines, clock })) as unknown as Tollgate<MachineRegistry>;
    await recordSubscriptionActivity(tg, clock);
  }, 120_000);

  it('through the same release: nothing changed; through release 2: the grace split, counted per (state, event, kind)', async () => {
    const same = await replayHistory(testAccess(tg).client, testAccess(tg).schema, machines);
    expect(same.findings).toEqual([]);
    expect(same.machines.find((m) => m.machine === 'subscription')).toMatchObject({ entities: 5, changedEntities: 0 });
    expect(same.transitions).toBeGreaterThanOrEqual(15);

    const next = await replayHistory(testAccess(tg).client, testAccess(tg).schema, release2, { machines: ['subscription'], batchSize: 2 });
    expect(findings(next)).toEqual(graceSplit);
    expect(next.findings[1]).toMatchObject({
      before: 'sendEmail{"customerId":"c-dunned","template":"cancellation"}',
      after: 'sendEmail{"customerId":"c-dunned","template":"final_notice"}, sendEmail{"customerId":"c-dunned","template":"cancellation"}',
    });
    expect(next.machines).toEqual([expect.objectContaining({ machine: 'subscription', version: 2, entities: 5, changedEntities: 2 })]);
  });

  it('a sample and --since select entities', async () => {
    const sampled = await replayHistory(testAccess(tg).client, testAccess(tg).schema, release2, { machines: ['subscription'], sample: 2 });
    expect(sampled.entities).toBe(2);
    const none = await replayHistory(testAccess(tg).client, testAccess(tg).schema, release2, { since: new Date(start + 30 * 86_400_000) });
    expect(none.entities).toBe(0);
  });
});

describe.each(backends())('tollgate replay (the real CLI) on %s', (backend: Backend) => {
  let target: string[];
  let remove: () => void;
  beforeAll(async () => {
    ({ args: target, remove } = await cliDatabase(backend, recordSubscriptionActivity));
  }, 120_000);
  afterAll(() => remove());

  it('exit 1 with the changed effects and timers of release 2, 0 when they are allowed, 0 through the same release', async () => {
    const changed = await runCli(['replay', '--machines', 'examples/evolution/machines-v2.ts', '--machine', 'subscription', ...target], { timeoutMs: 60_000 });
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/subscription \(version 2\): 5 entities, \d+ transitions replayed, 2 with changed outcomes/);
    expect(changed.stdout).toMatch(/active\s+PAYMENT_FAILED\s+timers\s+2\s+dunned, recovered/);
    expect(changed.stdout).toMatch(/grace\s+xstate\.after\.gracePeriod\.subscription\.grace\s+effects\s+1\s+dunned/);
    expect(changed.stdout).toContain('after:  sendEmail{"customerId":"c-dunned","template":"final_notice"}, sendEmail{"customerId":"c-dunned","template":"cancellation"}');
    expect(changed.stderr).toMatch(/\[#+\] 5\/5/); // the progress bar

    const allowed = await runCli(['replay', '--machines', 'examples/evolution/machines-v2.ts', '--allow', 'effects', '--allow', 'timers', '--json', ...target], { timeoutMs: 60_000 });
    expect(allowed.code).toBe(0);
    const report = JSON.parse(allowed.stdout) as ReplayRunReport & { ok: boolean; allowed: string[] };
    expect(report).toMatchObject({ ok: true, allowed: ['effects', 'timers'] });
    expect(findings(report)).toEqual(graceSplit);

    const same = await runCli(['replay', '--machines', 'machines/index.ts', '--since', '2026-01-01', ...target], { timeoutMs: 60_000 });
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/no outcome changed/);
  }, 180_000);

  it('bad input: usage errors (exit 2), an unknown machine is TG_UNKNOWN_MACHINE (exit 1)', async () => {
    const module = ['--machines', 'examples/evolution/machines-v2.ts', ...target];
    const [kind, since, sample] = await Promise.all([
      runCli(['replay', '--allow', 'bogus', ...module], { timeoutMs: 60_000 }),
      runCli(['replay', '--since', 'last week', ...module], { timeoutMs: 60_000 }),
      runCli(['replay', '--sample', '0', ...module], { timeoutMs: 60_000 }),
    ]);
    expect(kind).toMatchObject({ code: 2, stderr: expect.stringMatching(/--allow takes accepted-now-refused, .*got 'bogus'/) });
    expect(since).toMatchObject({ code: 2, stderr: expect.stringMatching(/--since must be a duration/) });
    expect(sample).toMatchObject({ code: 2, stderr: expect.stringMatching(/--sample must be an integer from 1/) });
    // Alone: it opens the database, and an embedded data directory takes one process at a time.
    const machine = await runCli(['replay', '--machine', 'nope', ...module], { timeoutMs: 60_000 });
    expect(machine).toMatchObject({ code: 1, stderr: expect.stringMatching(/TG_UNKNOWN_MACHINE/) });
  }, 180_000);
});
