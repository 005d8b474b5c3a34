import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { machines } from '../../machines/index.ts';
import { subscriptionV2 } from '../../examples/evolution/subscription-v2.ts';
import { compareOutcomes } from '../../src/replay/compare.ts';
import { canonicalJson as canonical } from '../../src/runtime/fingerprint.ts';
import { recordedEntities } from '../../src/replay/recorded-history.ts';
import type { RecordedEntity } from '../../src/replay/recorded.ts';
import { replayEntity } from '../../src/replay/replay-entity.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { fireDueTimers } from '../support/evolution.ts';
import { DAY, start } from '../support/subscriptions.ts';
import { defineMachine } from '../../src/engine/definition.ts';
import { setup } from 'xstate';
import { z } from 'zod';
import { testAccess } from '../../src/runtime/test-access.ts';

/** Five subscriptions with real histories: dunning to cancellation by timer, recovery, pause, a refused event, an expired trial. */
async function recordActivity(backend: Parameters<typeof testRuntime>[0]) {
  const clock = new ManualClock(start);
  const tg = await testRuntime(backend, { machines, clock });
  const customer = (id: string) => ({ customerId: `c-${id}`, plan: 'pro', gracePeriodMs: 4 * DAY });
  for (const id of ['dunned', 'recovered', 'paused', 'refused']) {
    await tg.create('subscription', id, customer(id));
    await tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm_1' });
  }
  await tg.create('subscription', 'expired', { customerId: 'c-x', plan: 'basic', trialPeriodMs: 2 * DAY });
  clock.advance(DAY);
  await tg.send('subscription', 'dunned', { type: 'PAYMENT_FAILED' });
  await tg.send('subscription', 'recovered', { type: 'PAYMENT_FAILED' });
  await tg.send('subscription', 'paused', { type: 'PAUSE' });
  await expect(tg.send('subscription', 'refused', { type: 'RESUME' })).rejects.toMatchObject({ code: 'TG_ILLEGAL_TRANSITION' });
  clock.advance(DAY);
  await tg.send('subscription', 'recovered', { type: 'PAYMENT_SUCCEEDED', chargeId: 'ch_1' });
  await tg.send('subscription', 'paused', { type: 'RESUME' });
  clock.advance(5 * DAY);
  await fireDueTimers(tg, clock); // dunned: grace ends -> canceled; expired: trial ends without a payment method
  return { tg, clock };
}

async function readAll(tg: Awaited<ReturnType<typeof recordActivity>>['tg']): Promise<RecordedEntity[]> {
  const all: RecordedEntity[] = [];
  for await (const batch of recordedEntities(testAccess(tg).client, testAccess(tg).schema, { machine: 'subscription', batchSize: 2 })) all.push(...batch);
  return all;
}

describe.each(backends())('replay engine on %s', (backend) => {
  // One recorded activity per backend, read by both tests (PGlite's start-up is the dear part).
  let recorded: RecordedEntity[];
  beforeAll(async () => {
    const { tg } = await recordActivity(backend);
    recorded = await readAll(tg);
  }, 120_000);

  it('replays real history through the same version to the stored snapshots, with every outcome the same', () => {
    expect(recorded.map((r) => r.id)).toEqual(['dunned', 'expired', 'paused', 'recovered', 'refused']);
    const refused = recorded.find((r) => r.id === 'refused')!;
    expect(refused.steps.map((s) => [s.kind, s.event.type, s.outcome?.accepted])).toEqual([
      ['create', 'xstate.init', true],
      ['event', 'UPGRADE', true],
      ['event', 'RESUME', false],
    ]);
    expect(recorded.find((r) => r.id === 'dunned')!.steps.at(-1)).toMatchObject({ kind: 'timer', timerSendId: 'xstate.after.gracePeriod.subscription.grace' });
    for (const entity of recorded) {
      const replay = replayEntity(machines.subscription, entity);
      expect(replay.stopped).toBeUndefined();
      expect(canonical(machines.subscription.machine.getPersistedSnapshot(replay.snapshot!))).toBe(canonical(entity.current!.snapshot));
      expect(replay.state).toBe(entity.current!.state);
      expect(compareOutcomes(machines.subscription, entity, replay)).toMatchObject({ changes: [], diverged: false, compared: entity.steps.length });
    }
  });

  it('through release 2 it reports the changed timers and effects of the grace split, and nothing else', () => {
    const changes = recorded.flatMap((entity) => compareOutcomes(subscriptionV2, entity, replayEntity(subscriptionV2, entity)).changes);
    expect(changes.map((c) => [c.entityId, c.state, c.eventType, c.kind])).toEqual([
      ['dunned', 'active', 'PAYMENT_FAILED', 'timers'],
      ['dunned', 'grace', 'xstate.after.gracePeriod.subscription.grace', 'effects'],
      ['recovered', 'active', 'PAYMENT_FAILED', 'timers'],
    ]);
    expect(changes[1]?.before).toBe('sendEmail{"customerId":"c-dunned","template":"cancellation"}');
    expect(changes[1]?.after).toBe('sendEmail{"customerId":"c-dunned","template":"final_notice"}, sendEmail{"customerId":"c-dunned","template":"cancellation"}');
  });
});

describe('replay engine, pure', () => {
  const gate = (accepts: boolean, version: number) =>
    defineMachine({
      machine: setup({ actions: { ring: () => {} } }).createMachine({
        id: 'door',
        initial: 'closed',
        states: { closed: { on: accepts ? { OPEN: { target: 'open', actions: 'ring' } } : {} }, open: { on: { CLOSE: 'closed' } } },
      }),
      version,
      input: z.object({}),
      events: { OPEN: z.strictObject({}), CLOSE: z.strictObject({}) },
    });
  const step = (seq: number | null, type: string, accepted: boolean, state: string, effects: string[] = []) => ({
    kind: seq === 1 ? ('create' as const) : ('event' as const),
    seq,
    transitionId: seq === null ? null : `t${seq}`,
    event: seq === 1 ? { type, input: {} } : { type },
    at: start + (seq ?? 0),
    machineVersion: 1,
    fromState: null,
    outcome: { accepted, state, effects: effects.map((type) => ({ type, params: {} })), timers: [] },
  });
  const door: RecordedEntity = {
    machine: 'door',
    id: 'd1',
    steps: [step(1, 'xstate.init', true, 'closed'), step(2, 'OPEN', true, 'open', ['ring']), step(3, 'CLOSE', true, 'closed'), step(null, 'CLOSE', false, 'closed')],
    timers: [],
  };

  it('an event refused now is reported once, and the steps after the divergence are not compared', () => {
    const v2 = gate(false, 2);
    const replay = replayEntity(v2, door);
    expect(replay.steps.map((s) => s.outcome.accepted)).toEqual([true, false, false, false]);
    const result = compareOutcomes(v2, door, replay);
    expect(result).toMatchObject({ diverged: true, compared: 2, changes: [{ kind: 'accepted-now-refused', eventType: 'OPEN', before: 'accepted -> open' }] });
  });

  it('a refused attempt accepted now is reported', () => {
    const v1 = gate(true, 1);
    const entity = { ...door, steps: [door.steps[0]!, step(null, 'OPEN', false, 'closed')] };
    expect(compareOutcomes(v1, entity, replayEntity(v1, entity)).changes).toMatchObject([{ kind: 'refused-now-accepted', after: 'accepted -> open' }]);
  });
});
