import { afterEach, describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { z } from 'zod';
import { machines } from '../../machines/index.ts';
import { ManualClock } from '../../src/clock.ts';
import { defineMachine, type AnyMachineDefinition } from '../../src/engine/definition.ts';
import { restoreSnapshot } from '../../src/engine/restore.ts';
import { stateToString } from '../../src/engine/state-value.ts';
import type { ImportRecord } from '../../src/runtime/import-record.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { eventually, stopAll, testProcesses } from '../support/processes.ts';
import { baseContext, generateRecords, restingStates } from '../fixtures/import-records.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

afterEach(stopAll);

const now = Date.parse('2026-06-01T12:00:00Z');
const DAY = 24 * 3600_000;
const shipped = ['subscription', 'order', 'payout'] as const;

async function runtime(backend: 'postgres' | 'pglite', extra: Record<string, AnyMachineDefinition> = {}) {
  const clock = new ManualClock(now);
  const tg = await testRuntime(backend, { machines: { ...machines, ...extra }, clock, maxConnections: 4 });
  const s = quoteIdent(testAccess(tg).schema);
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await testAccess(tg).client.query<{ n: string | number }>(sql.replaceAll('$s', s), params))[0]!.n);
  return { tg, clock, count, s };
}

describe.each(backends())('tollgate import on %s', (backend) => {
  it('every resting state of the shipped machines, parallel ones included, stored as the gate stores it, with counts and timers', async () => {
    const { tg, count } = await runtime(backend);
    // A thousand entities here, fewer on PGlite (the bench imports 100,000: bench/import.ts); each state gets several.
    const per = backend === 'pglite' ? 150 : 400;
    for (const machine of shipped) {
      const records = generateRecords(machine, per, now);
      const report = await tg.import(machine, records, { batch: 97 });
      expect(report).toMatchObject({ machine, lines: per, imported: per, skipped: 0, failed: 0, stopped: false });
      const definition = machines[machine] as AnyMachineDefinition;
      const states = restingStates(definition, machine).map(stateToString);
      // Every state configuration is there, and the per-state counts the triggers keep agree with the report.
      expect(Object.keys(report.states).sort()).toEqual([...states].sort());
      expect(await tg.stateCounts(machine)).toEqual(report.states);
      for (const record of records.slice(0, states.length)) {
        const entity = await tg.get(machine, record.id);
        expect(entity.version).toBe(1);
        expect(entity.stateEnteredAt).toBe(record.stateEnteredAt);
        expect(entity.context).toEqual(record.context);
        const history = await tg.history(machine, record.id);
        expect(history).toMatchObject([{ seq: 1, eventType: '$imported', fromState: null, toState: entity.state, actor: 'tollgate import' }]);
      }
    }
    // Parallel states: the order machine rests in every combination of its regions but the finished one.
    expect(restingStates(machines.order as AnyMachineDefinition, 'order').map(stateToString)).toContain('paid.invoicing.issued,paid.shipment.shipped');
    expect(restingStates(machines.order as AnyMachineDefinition, 'order').map(stateToString)).not.toContain('paid.invoicing.issued,paid.shipment.delivered');
    // Nothing half-written: each entity has exactly its one history row, and no effects were emitted.
    expect(await count(`SELECT count(*) AS n FROM $s.entities`)).toBe(3 * per);
    expect(await count(`SELECT count(*) AS n FROM $s.transitions WHERE event_type = '$imported' AND seq = 1`)).toBe(3 * per);
    expect(await count(`SELECT count(*) AS n FROM $s.effects`)).toBe(0);
    // The stored snapshot restores under the machine and is what the gate would store there.
    const row = (await testAccess(tg).client.query<{ snapshot: unknown; machine_version: number }>(`SELECT snapshot, machine_version FROM ${quoteIdent(testAccess(tg).schema)}.entities WHERE machine = 'subscription' AND id = 'subscription-1'`))[0]!;
    const restored = restoreSnapshot(machines.subscription.machine, row.snapshot, { machine: 'subscription', entityId: 'subscription-1', machineVersion: row.machine_version });
    expect(machines.subscription.machine.getPersistedSnapshot(restored)).toEqual(row.snapshot);
  }, 120_000);

  it("arms the state's timers from stateEnteredAt; a timer already due fires at once, the others when due", async () => {
    const { tg, clock } = await runtime(backend);
    const context = { ...baseContext(machines.subscription as AnyMachineDefinition, 'subscription'), gracePeriodMs: 7 * DAY };
    const report = await tg.import('subscription', [
      { id: 'overdue', state: 'grace', context, stateEnteredAt: new Date(now - 8 * DAY).toISOString() },
      { id: 'later', state: 'grace', context, stateEnteredAt: new Date(now - 2 * DAY).toISOString() },
      { id: 'trialing', state: 'trial', context, stateEnteredAt: new Date(now - DAY).toISOString() },
      { id: 'paused', state: 'paused.idle', context },
    ]);
    expect(report).toMatchObject({ imported: 4, timers: { armed: 3, dueAtImport: 1 } });
    expect(await tg.timers('subscription', 'later')).toMatchObject([
      { sendId: 'xstate.after.gracePeriod.subscription.grace', status: 'scheduled', dueAt: new Date(now + 5 * DAY).toISOString() },
    ]);
    expect(await tg.timers('subscription', 'paused')).toEqual([]);
    await testProcesses(tg, 'in-process');
    await eventually(async () => (await tg.get('subscription', 'overdue')).state === 'canceled', 10_000, 'the overdue grace timer');
    expect((await tg.history('subscription', 'overdue')).map((t) => t.eventType)).toEqual(['$imported', 'xstate.after.gracePeriod.subscription.grace']);
    expect((await tg.get('subscription', 'later')).state).toBe('grace');
    clock.advance(5 * DAY);
    await eventually(async () => (await tg.get('subscription', 'later')).state === 'canceled', 10_000, 'the grace timer when due');
    expect((await tg.get('subscription', 'trialing')).state).toBe('trial');
  });

  it('the gate goes on from an imported entity (legal events commit, illegal ones refused); other writers stay refused', async () => {
    const { tg, s } = await runtime(backend);
    const context = baseContext(machines.order as AnyMachineDefinition, 'order');
    await tg.import('order', [{ id: 'o', state: { paid: { shipment: 'shipped', invoicing: 'draft' } }, context }]);
    await expect(tg.send('order', 'o', { type: 'SHIP', trackingId: 't' })).rejects.toMatchObject({ code: 'TG_ILLEGAL_TRANSITION' });
    const sent = await tg.send('order', 'o', { type: 'DELIVER' });
    expect(sent.entity.state).toBe('paid.invoicing.draft,paid.shipment.delivered');
    expect((await tg.get('order', 'o')).version).toBe(2);
    // The import marks its statement as the gate's; a plain insert beside it is still refused by the trigger.
    await expect(
      testAccess(tg).client.query(
        `INSERT INTO ${s}.entities (machine, id, machine_version, snapshot, state, version, state_entered_at, created_at, updated_at) VALUES ('order', 'z', 1, '{}', 'canceled', 1, now(), now(), now())`,
      ),
    ).rejects.toThrow(/only the gate writes lifecycle state/);
  });

  it('idempotent: the same records again are skipped, differing ones and gate-created ids reported, nothing overwritten', async () => {
    const { tg, count } = await runtime(backend);
    const records = generateRecords('payout', 60, now);
    await tg.create('payout', 'payout-7', { payoutId: 'p', customerId: 'c', amountCents: 10 });
    const first = await tg.import('payout', records, { batch: 25 });
    expect(first).toMatchObject({ imported: 59, failed: 1, errors: [{ line: 8, id: 'payout-7', code: 'TG_IMPORT_CONFLICT' }] });
    expect(first.errors[0]!.message).toContain('created through the gate');
    const rows = await count(`SELECT count(*) AS n FROM $s.transitions`);
    const again = await tg.import('payout', records, { batch: 25 });
    expect(again).toMatchObject({ imported: 0, skipped: 59, failed: 1 });
    expect(await count(`SELECT count(*) AS n FROM $s.transitions`)).toBe(rows);
    const changed: ImportRecord[] = [{ ...records[3]!, context: { ...records[3]!.context, amountCents: 1 } }, records[4]!];
    const third = await tg.import('payout', changed);
    expect(third).toMatchObject({ imported: 0, skipped: 1, failed: 1, errors: [{ line: 1, id: 'payout-3', code: 'TG_IMPORT_CONFLICT' }] });
    expect((await tg.get('payout', 'payout-3')).context).toMatchObject({ amountCents: records[3]!.context.amountCents });
    // The same id twice in one run: the second meets the first (same data: skipped).
    const twice = await tg.import('payout', [{ ...records[0]!, id: 'fresh' }, { ...records[0]!, id: 'fresh' }], { batch: 10 });
    expect(twice).toMatchObject({ imported: 1, skipped: 1, failed: 0 });
  });

  it('bad lines are reported with their number and reason, the good ones around them written; --max-errors stops the run', async () => {
    const context = baseContext(machines.subscription as AnyMachineDefinition, 'subscription');
    // A definition that declares its context schema: an imported context must fit it.
    const strict = { ...machines.subscription, context: z.strictObject({ customerId: z.string(), plan: z.string(), paymentMethodId: z.string().nullable(), amountCents: z.number().int().positive(), trialPeriodMs: z.number().optional(), gracePeriodMs: z.number(), payments: z.number().int(), lastChargeId: z.string().nullable() }) };
    const { tg, count } = await runtime(backend, { subscription: strict });
    const { trialPeriodMs: _, ...noTrial } = context;
    const good = (id: string) => JSON.stringify({ id, state: 'active', context });
    const lines = [
      good('g1'),
      '{"id": "broken"',
      JSON.stringify({ id: 'u', state: 'paused.sleeping', context }),
      JSON.stringify({ id: 'c', state: 'paused', context }),
      '',
      JSON.stringify({ id: 'x', state: 'active', context: { ...context, amountCents: -5 } }),
      JSON.stringify({ id: 'nt', state: 'trial', context: noTrial }),
      JSON.stringify({ id: 'f', state: 'active', context, stateEnteredAt: new Date(now + DAY).toISOString() }),
      JSON.stringify({ id: 'v', state: 'active', context, machineVersion: 9 }),
      JSON.stringify({ id: 'typo', state: 'active', context, stateEnteredOn: '2026-01-01' }),
      good('g2'),
    ];
    const report = await tg.import('subscription', lines, { batch: 2 });
    expect(report).toMatchObject({ lines: 11, imported: 2, failed: 8, stopped: false });
    expect(report.errors.map((e) => [e.line, e.code])).toEqual([
      [2, 'TG_IMPORT_INVALID_RECORD'],
      [3, 'TG_IMPORT_INVALID_STATE'],
      [4, 'TG_IMPORT_INVALID_STATE'],
      [6, 'TG_IMPORT_INVALID_CONTEXT'],
      [7, 'TG_IMPORT_INVALID_CONTEXT'],
      [8, 'TG_IMPORT_INVALID_RECORD'],
      [9, 'TG_IMPORT_INVALID_RECORD'],
      [10, 'TG_IMPORT_INVALID_RECORD'],
    ]);
    expect(report.errors[1]!.message).toContain("'paused' has 'idle', 'resuming'");
    expect(report.errors[3]!.message).toContain("'amountCents'");
    expect(report.errors[4]!.message).toContain('xstate.after.trialPeriod.subscription.trial');
    expect(await count(`SELECT count(*) AS n FROM $s.entities`)).toBe(2);

    const stopping = await tg.import('subscription', ['nope', 'nope', 'nope', good('g3'), good('g4')], { maxErrors: 1 });
    expect(stopping).toMatchObject({ lines: 2, imported: 0, failed: 2, stopped: true });
    expect(await count(`SELECT count(*) AS n FROM $s.entities`)).toBe(2);
  });
});

describe.each(backends().slice(0, 1))('tollgate import of records written for an older machine version (%s)', (backend) => {
  it("carries them through the definition's migrations before checking them", async () => {
    const widget = defineMachine({
      machine: setup({}).createMachine({ id: 'widget', initial: 'fresh', states: { fresh: { on: { GO: 'finished' } }, finished: { type: 'final' } } }),
      version: 2,
      input: z.object({}),
      events: { GO: z.strictObject({}) },
      // Release 1 called the first state 'new'.
      migrations: { 1: (s) => (s.value === 'new' ? { ...s, value: 'fresh' } : s) },
    });
    const tg = await testRuntime(backend, { machines: { widget } });
    const report = await tg.import('widget', [
      { id: 'w1', state: 'new', context: {}, machineVersion: 1 },
      { id: 'w2', state: 'fresh', context: {} },
      { id: 'w3', state: 'new', context: {} },
      { id: 'w4', state: 'fresh', context: {}, machineVersion: 3 },
    ]);
    expect(report.errors.map((e) => [e.line, e.code])).toEqual([
      [3, 'TG_IMPORT_INVALID_STATE'],
      [4, 'TG_IMPORT_INVALID_RECORD'],
    ]);
    expect(await tg.get('widget', 'w1')).toMatchObject({ state: 'fresh', machineVersion: 2 });
    expect((await tg.send('widget', 'w1', { type: 'GO' })).entity.state).toBe('finished');
  });
});
