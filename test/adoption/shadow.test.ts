import { afterEach, describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { ManualClock } from '../../src/clock.ts';
import type { AnyMachineDefinition } from '../../src/engine/definition.ts';
import { isTollgateError } from '../../src/errors.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { stopAll } from '../support/processes.ts';
import { baseContext } from '../fixtures/import-records.ts';
import { fireTimer } from '../../workers/timers.ts';
import { portsOf } from '../../src/runtime/ports.ts';

afterEach(stopAll);

const now = Date.parse('2026-06-01T12:00:00Z');
const DAY = 24 * 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const shadowed = { ...(machines.subscription as AnyMachineDefinition), mode: 'shadow' as const };
const withEmails = { ...shadowed, shadow: { effects: ['sendEmail'] } };
const context = baseContext(machines.subscription as AnyMachineDefinition, 'subscription');

async function runtime(backend: 'postgres' | 'pglite', subscription: AnyMachineDefinition = shadowed) {
  const clock = new ManualClock(now);
  const tg = await testRuntime(backend, { machines: { subscription }, clock, maxConnections: 4 });
  return { tg, clock };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isTollgateError(error)) return error.code;
    throw error;
  }
  return '(none)';
}

describe.each(backends())('shadow mode on %s', (backend) => {
  it("the seed's three stories, reported by a legacy system, are judged illegal with the reason the gate would give; the mirror follows", async () => {
    const { tg } = await runtime(backend);
    await tg.import('subscription', [
      { id: 'dunned', state: 'grace', context: { ...context, paymentMethodId: 'pm_1' }, stateEnteredAt: iso(now - DAY) },
      { id: 'closed', state: 'canceled', context },
      { id: 'closed-2', state: 'canceled', context },
    ]);
    // 1. A second dunning charge in the grace period: the legacy retried the charge, it failed again, still in grace.
    const charge = await tg.observe('subscription', 'dunned', { event: 'PAYMENT_FAILED', from: 'grace', to: 'grace', at: iso(now) });
    expect(charge).toMatchObject({ verdict: 'illegal', code: 'TG_ILLEGAL_TRANSITION', mirrorState: 'grace', expectedState: null, replayed: false });
    expect(charge.reason).toContain("'PAYMENT_FAILED' would not be allowed for subscription/dunned in state 'grace'");
    // 2. A reactivation of a closed account without payment.
    const reactivated = await tg.observe('subscription', 'closed', { event: 'RESUME', from: 'canceled', to: 'active', at: iso(now) });
    expect(reactivated).toMatchObject({ verdict: 'illegal', code: 'TG_ILLEGAL_TRANSITION', mirrorState: 'canceled' });
    expect(reactivated.reason).toContain('accepts no events (it is final)');
    // 3. A cancellation email after the account closed: the legacy cancelled it again.
    const email = await tg.observe('subscription', 'closed-2', { event: 'CANCEL', from: 'canceled', to: 'canceled', at: iso(now) });
    expect(email).toMatchObject({ verdict: 'illegal', code: 'TG_ILLEGAL_TRANSITION', mirrorState: 'canceled' });

    // The mirror follows the legacy state: the reactivated account is active now, by a `$observed` history row.
    expect((await tg.get('subscription', 'closed')).state).toBe('active');
    expect((await tg.history('subscription', 'closed')).at(-1)).toMatchObject({
      eventType: '$observed',
      fromState: 'canceled',
      toState: 'active',
      actor: 'tollgate shadow',
      event: { event: 'RESUME', verdict: 'illegal', code: 'TG_ILLEGAL_TRANSITION' },
    });
    // Staying in grace keeps the grace timer (armed at the import, from its entry a day ago).
    expect(await tg.timers('subscription', 'dunned')).toMatchObject([{ status: 'scheduled', dueAt: iso(now - DAY + (context.gracePeriodMs as number)) }]);
    // Nothing was emitted: the legacy system does the work in shadow mode.
    for (const id of ['dunned', 'closed', 'closed-2']) expect(await tg.effects('subscription', id)).toEqual([]);
    expect(await tg.observations('subscription', 'closed')).toMatchObject([{ verdict: 'illegal', event: 'RESUME', from: 'canceled', to: 'active' }]);
  }, 60_000);

  it('a legal run is legal all the way and the mirror ends where the machine would; no effect is emitted', async () => {
    const { tg } = await runtime(backend);
    const start = await tg.observe('subscription', 'run', { event: 'SIGNUP', to: 'trial', at: iso(now - 10 * DAY), context });
    expect(start).toMatchObject({ verdict: 'unknown-entity', mirrorState: null });
    const steps = [
      { event: 'UPGRADE', payload: { paymentMethodId: 'pm_1' }, from: 'trial', to: 'active' },
      { event: 'PAYMENT_SUCCEEDED', payload: { chargeId: 'ch_1' }, from: 'active', to: 'active' },
      { event: 'PAYMENT_FAILED', from: 'active', to: 'grace' },
      { event: 'PAYMENT_SUCCEEDED', from: 'grace', to: 'active' },
      { event: 'PAUSE', from: 'active', to: 'paused.idle' },
      { event: 'RESUME', from: 'paused.idle', to: 'paused.resuming' },
      { event: 'PAYMENT_SUCCEEDED', from: 'paused.resuming', to: 'active' },
      { event: 'CANCEL', to: 'canceled' },
    ];
    for (const [i, step] of steps.entries()) {
      const seen = await tg.observe('subscription', 'run', { ...step, at: iso(now - 9 * DAY + i * DAY) });
      expect(seen, step.event).toMatchObject({ verdict: 'legal', code: null, mirrorState: step.from ?? expect.any(String), expectedState: step.to });
    }
    const entity = await tg.get('subscription', 'run');
    expect(entity).toMatchObject({ state: 'canceled', context: { payments: 3, lastChargeId: null, paymentMethodId: 'pm_1' } });
    // The legal moves are the machine's own transitions: replayable, with the observed times.
    const history = await tg.history('subscription', 'run');
    expect(history.map((t) => t.eventType)).toEqual(['$imported', ...steps.map((s) => s.event)]);
    expect(history.at(-1)?.createdAt).toBe(iso(now - 2 * DAY));
    expect(await tg.effects('subscription', 'run')).toEqual([]);
  }, 60_000);

  it('diverged: the legacy from is not where the mirror is, or the machine would go elsewhere; an unknown entity is recorded as such', async () => {
    const { tg } = await runtime(backend);
    await tg.import('subscription', [
      { id: 'paused', state: 'paused.idle', context: { ...context, paymentMethodId: 'pm_1' } },
      { id: 'drifted', state: 'active', context },
    ]);
    // A paused account reactivated without payment: RESUME leads to paused.resuming (a charge), the legacy went to active.
    const skipped = await tg.observe('subscription', 'paused', { event: 'RESUME', from: 'paused.idle', to: 'active', at: iso(now) });
    expect(skipped).toMatchObject({ verdict: 'diverged', code: null, mirrorState: 'paused.idle', expectedState: 'paused.resuming' });
    expect(skipped.reason).toContain("leads to 'paused.resuming'");
    expect((await tg.get('subscription', 'paused')).state).toBe('active');
    // The legacy says it was in grace; the mirror has it active (a transition the legacy never reported).
    const elsewhere = await tg.observe('subscription', 'drifted', { event: 'PAYMENT_SUCCEEDED', from: 'grace', to: 'active', at: iso(now) });
    expect(elsewhere).toMatchObject({ verdict: 'diverged', mirrorState: 'active', from: 'grace' });
    expect(elsewhere.reason).toContain("was in 'grace'; tollgate's mirror is in 'active'");
    // No mirror and no context: recorded, nothing else written.
    const unknown = await tg.observe('subscription', 'ghost', { event: 'CANCEL', from: 'active', to: 'canceled', at: iso(now) });
    expect(unknown).toMatchObject({ verdict: 'unknown-entity', mirrorState: null, expectedState: null });
    expect(await codeOf(tg.get('subscription', 'ghost'))).toBe('TG_ENTITY_NOT_FOUND');

    const report = await tg.shadowReport('subscription');
    expect(report.verdicts).toEqual({ legal: 0, illegal: 0, diverged: 2, 'unknown-entity': 1 });
    expect(report.lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ verdict: 'diverged', from: 'paused.idle', event: 'RESUME', to: 'active', count: 1, exampleIds: ['paused'] }),
        expect.objectContaining({ verdict: 'diverged', from: 'grace', event: 'PAYMENT_SUCCEEDED', to: 'active', count: 1, exampleIds: ['drifted'] }),
      ]),
    );
  }, 60_000);

  it("a move the machine would not make cancels the old state's timers and arms the new state's, from the reported time", async () => {
    const { tg } = await runtime(backend);
    await tg.import('subscription', [
      { id: 'graced', state: 'grace', context, stateEnteredAt: iso(now - DAY) },
      { id: 'idle', state: 'paused.idle', context },
    ]);
    const left = await tg.observe('subscription', 'graced', { event: 'RESUME', from: 'grace', to: 'active', at: iso(now) });
    expect(left).toMatchObject({ verdict: 'illegal', code: 'TG_ILLEGAL_TRANSITION' });
    expect(await tg.timers('subscription', 'graced')).toMatchObject([{ status: 'cancelled' }]);
    const entered = await tg.observe('subscription', 'idle', { event: 'PAYMENT_FAILED', from: 'paused.idle', to: 'grace', at: iso(now - 2 * DAY) });
    expect(entered).toMatchObject({ verdict: 'illegal', code: 'TG_ILLEGAL_TRANSITION' });
    expect(await tg.get('subscription', 'idle')).toMatchObject({ state: 'grace', stateEnteredAt: iso(now - 2 * DAY) });
    expect(await tg.timers('subscription', 'idle')).toMatchObject([
      { sendId: 'xstate.after.gracePeriod.subscription.grace', status: 'scheduled', dueAt: iso(now - 2 * DAY + (context.gracePeriodMs as number)) },
    ]);
  }, 60_000);

  it('malformed reports are refused with a code and change nothing; a repeated key answers the first verdict', async () => {
    const { tg } = await runtime(backend);
    await tg.import('subscription', [{ id: 's1', state: 'active', context }]);
    const bad = [
      { event: 'PAUSE', to: 'paused', at: iso(now) }, // compound state without its child
      { event: 'PAUSE', to: 'nowhere', at: iso(now) },
      { event: 'PAUSE', to: 'paused.idle', at: 'yesterday' },
      { event: 'PAUSE', to: 'paused.idle' },
      { event: 'PAUSE', to: 'paused.idle', at: iso(now), colour: 'red' },
    ];
    for (const raw of bad) expect(await codeOf(tg.observe('subscription', 's1', raw as never)), JSON.stringify(raw)).toBe('TG_INVALID_OBSERVATION');
    expect((await tg.get('subscription', 's1')).version).toBe(1);
    expect(await tg.observations('subscription', 's1')).toEqual([]);
    // Without a mirror nothing is placed, and `to` is still checked.
    expect(await codeOf(tg.observe('subscription', 'ghost', { event: 'CANCEL', to: 'nowhere', at: iso(now) }))).toBe('TG_INVALID_OBSERVATION');
    expect(await tg.observations('subscription', 'ghost')).toEqual([]);

    const first = await tg.observe('subscription', 's1', { event: 'PAUSE', from: 'active', to: 'paused.idle', at: iso(now), key: 'legacy-row-7' });
    const again = await tg.observe('subscription', 's1', { event: 'PAUSE', from: 'active', to: 'paused.idle', at: iso(now), key: 'legacy-row-7' });
    expect(again).toEqual({ ...first, replayed: true });
    expect((await tg.get('subscription', 's1')).version).toBe(2);
    expect(await codeOf(tg.observe('subscription', 's1', { event: 'CANCEL', to: 'canceled', at: iso(now), key: 'legacy-row-7' }))).toBe('TG_IDEMPOTENCY_KEY_REUSED');
  }, 60_000);

  it('effects: none in shadow mode, unless the machine opts in per effect', async () => {
    for (const [definition, expected] of [
      [shadowed, []],
      [withEmails, ['sendEmail']],
    ] as const) {
      const { tg } = await runtime(backend, definition);
      await tg.import('subscription', [{ id: 'e1', state: 'active', context: { ...context, paymentMethodId: 'pm_1' } }]);
      // active -> grace emits sendEmail(payment_failed) and chargePayment(dunning_retry) when the gate decides it.
      const seen = await tg.observe('subscription', 'e1', { event: 'PAYMENT_FAILED', from: 'active', to: 'grace', at: iso(now) });
      expect(seen.verdict).toBe('legal');
      expect((await tg.effects('subscription', 'e1')).map((e) => e.type)).toEqual(expected);
      await tg.close();
    }
  }, 60_000);

  it('sends are refused in shadow mode; the switch to enforce is recorded, then enforced; back to shadow too', async () => {
    const { tg, clock } = await runtime(backend);
    await tg.import('subscription', [{ id: 'g1', state: 'grace', context }]);
    expect(await codeOf(tg.send('subscription', 'g1', { type: 'PAYMENT_SUCCEEDED' }))).toBe('TG_MACHINE_SHADOWED');
    expect(await codeOf(tg.create('subscription', 'new', { customerId: 'c', plan: 'pro' }))).toBe('TG_MACHINE_SHADOWED');
    expect(await tg.governance.modes()).toEqual([{ machine: 'subscription', mode: 'shadow', source: 'definition' }]);

    clock.advance(1000);
    const toEnforce = await tg.governance.setMode('subscription', 'enforce', { actor: 'ana', reason: 'report clean for 7 days' });
    expect(toEnforce).toMatchObject({ machine: 'subscription', from: 'shadow', to: 'enforce', actor: 'ana', reason: 'report clean for 7 days', at: iso(now + 1000) });
    expect(await tg.governance.modes('subscription')).toEqual([{ machine: 'subscription', mode: 'enforce', source: 'switch' }]);
    // Enforced from the mirrored state: the second dunning charge the shadow report showed is now refused.
    expect(await codeOf(tg.send('subscription', 'g1', { type: 'PAYMENT_FAILED' }))).toBe('TG_ILLEGAL_TRANSITION');
    expect((await tg.send('subscription', 'g1', { type: 'PAYMENT_SUCCEEDED' })).entity.state).toBe('active');
    expect(await codeOf(tg.observe('subscription', 'g1', { event: 'PAUSE', to: 'paused.idle', at: iso(now) }))).toBe('TG_MACHINE_ENFORCED');

    // And back: the legacy system is the writer again.
    await tg.governance.setMode('subscription', 'shadow', { actor: 'ana', reason: 'legacy back as writer' });
    expect(await codeOf(tg.send('subscription', 'g1', { type: 'PAUSE' }))).toBe('TG_MACHINE_SHADOWED');
    expect((await tg.governance.modeSwitches('subscription')).map((s) => `${s.from}->${s.to} by ${s.actor}`)).toEqual(['enforce->shadow by ana', 'shadow->enforce by ana']);
  }, 60_000);

  it('a timer due in shadow mode waits (the legacy system decides); switched to enforce, it fires', async () => {
    const { tg, clock } = await runtime(backend);
    await tg.import('subscription', [{ id: 'late', state: 'grace', context, stateEnteredAt: iso(now - 8 * DAY) }]);
    const [timer] = await tg.timers('subscription', 'late');
    const silent = { error: () => {}, warn: () => {}, info: () => {} };
    expect(await fireTimer(portsOf(tg), timer!.id, { clock, logger: silent })).toMatchObject({ retryInMs: expect.any(Number) });
    expect(await tg.get('subscription', 'late')).toMatchObject({ state: 'grace' });
    expect(await tg.timers('subscription', 'late')).toMatchObject([{ status: 'scheduled' }]);
    await tg.governance.setMode('subscription', 'enforce', { actor: 'ana', reason: 'enforce' });
    await fireTimer(portsOf(tg), timer!.id, { clock, logger: silent });
    expect(await tg.get('subscription', 'late')).toMatchObject({ state: 'canceled' });
  }, 60_000);

  it('the audit replays a mirrored history: observed moves are listed as overrides, nothing else drifts', async () => {
    const { tg } = await runtime(backend);
    await tg.import('subscription', [{ id: 'au', state: 'active', context: { ...context, paymentMethodId: 'pm_1' } }]);
    await tg.observe('subscription', 'au', { event: 'PAYMENT_FAILED', from: 'active', to: 'grace', at: iso(now) }); // legal
    await tg.observe('subscription', 'au', { event: 'RESUME', from: 'grace', to: 'active', at: iso(now + 1000) }); // illegal, placed
    await tg.observe('subscription', 'au', { event: 'PAUSE', from: 'active', to: 'paused.idle', at: iso(now + 2000) }); // legal again
    const report = await tg.governance.audit({ machine: 'subscription' });
    expect(report.drift.map((d) => d.kind)).toEqual(['illegal-override']);
  }, 60_000);

  it('counts observations per machine, verdict, mirror state and event in the metrics text', async () => {
    const { tg } = await runtime(backend);
    await tg.import('subscription', [
      { id: 'a', state: 'grace', context },
      { id: 'b', state: 'grace', context },
      { id: 'c', state: 'active', context },
    ]);
    await tg.observe('subscription', 'a', { event: 'PAYMENT_FAILED', to: 'grace', at: iso(now) });
    await tg.observe('subscription', 'b', { event: 'PAYMENT_FAILED', to: 'grace', at: iso(now) });
    await tg.observe('subscription', 'c', { event: 'PAUSE', to: 'paused.idle', at: iso(now) });
    await tg.observe('subscription', 'z', { event: 'LEGACY_THING', to: 'active', at: iso(now) });
    const text = await tg.metricsText();
    expect(text).toContain('tollgate_shadow_observations_total{machine="subscription",verdict="illegal",from="grace",event="PAYMENT_FAILED"} 2');
    expect(text).toContain('tollgate_shadow_observations_total{machine="subscription",verdict="legal",from="active",event="PAUSE"} 1');
    expect(text).toContain('tollgate_shadow_observations_total{machine="subscription",verdict="unknown-entity",from="(none)",event="(other)"} 1');
  }, 60_000);
});
