import { beforeAll, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { machines } from '../../machines/index.ts';
import { defineMachine, ManualClock, type Tollgate } from '../../src/index.ts';
import { formatCoverage, PathDivergence, pathTests } from '../../src/testing/index.ts';
import { faulty, fidelityMachines, tally, wild } from '../fixtures/fidelity-machines.ts';
import { counter } from '../fixtures/stress-machines.ts';
import { testRuntime } from '../support/databases.ts';

const subscriptionInput = { customerId: 'c1', plan: 'pro', paymentMethodId: 'pm_0' };
const byValue = { serializeState: (s: { value: unknown }) => JSON.stringify(s.value) };

describe('pathTests: generation', () => {
  it('on an unbounded context, falls back to telling states apart by value and says so', () => {
    const started = performance.now();
    const fallback = pathTests(counter, { name: 'counter' });
    expect(fallback.notes).toEqual([expect.stringMatching(/did not close within 10000 steps .* told apart by value alone/)]);
    expect(fallback.paths.map((p) => p.name)).toEqual(['(create) ⇒ counting', 'STOP ⇒ stopped']);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(() => pathTests(counter, { name: 'counter', serializeState: (s) => JSON.stringify(s.context), limit: 200 })).toThrow(/Your serializeState still tells apart too many states/);
    expect(pathTests(counter, { name: 'counter', serializeState: (s) => JSON.stringify(s.value) }).paths.map((p) => p.name)).toEqual([
      '(create) ⇒ counting',
      'STOP ⇒ stopped',
    ]);
  });

  it('a shipped machine with a counter (subscription.payments) carries its own serializeState', () => {
    expect(pathTests('subscription', { machines, input: subscriptionInput, limit: 2000 }).notes).toEqual([]);
  });

  it('names paths after their steps, delayed events as after(<delay>), and includes the delayed transitions', () => {
    const suite = pathTests('subscription', { machines, input: subscriptionInput, ...byValue, paths: 'transitions' });
    const names = suite.paths.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('UPGRADE → PAUSE → RESUME ⇒ paused.resuming');
    expect(names).toContain('after(trialPeriod) ⇒ active');
    expect(names).toContain('UPGRADE → PAYMENT_FAILED → after(gracePeriod) ⇒ canceled');
  });

  it('derives trivial payloads from the zod schemas and asks for the rest', () => {
    const suite = pathTests('subscription', { machines, input: subscriptionInput, ...byValue });
    expect(suite.paths.find((p) => p.name === 'UPGRADE ⇒ active')?.steps[0]?.event).toEqual({ type: 'UPGRADE', paymentMethodId: 'sample' });
    const odd = defineMachine({
      machine: setup({ types: { events: {} as { type: 'GO'; at: Date } } }).createMachine({ id: 'odd', initial: 'a', states: { a: { on: { GO: 'b' } }, b: {} } }),
      version: 1,
      input: z.strictObject({}),
      events: { GO: z.strictObject({ at: z.date() }) },
    });
    expect(() => pathTests(odd, { name: 'odd' })).toThrow(/cannot derive a valid payload for event 'GO'.*events: \{ GO:/s);
    expect(pathTests(odd, { name: 'odd', events: { GO: { at: 'x' } } }).paths).toHaveLength(2);
  });

  it('reports which transitions the shortest paths leave uncovered; the transitions strategy covers them all', () => {
    const shortest = pathTests('subscription', { machines, input: subscriptionInput, ...byValue }).coverage();
    expect(shortest.uncovered).toContainEqual({ from: 'trial', event: 'xstate.after.trialPeriod.subscription.trial', to: 'active' });
    expect(shortest.uncovered).toContainEqual({ from: 'active', event: 'RENEW', to: 'active' });
    expect(shortest.ratio).toBeLessThan(1);
    const all = pathTests('subscription', { machines, input: subscriptionInput, ...byValue, paths: 'transitions' }).coverage();
    expect(all.uncovered).toEqual([]);
    expect(all.transitions).toHaveLength(16);
  });

  it('simple paths on request', () => {
    const simple = pathTests('payout', { machines, input: { payoutId: 'p', customerId: 'c', amountCents: 2_000_000 }, paths: 'simple' });
    const shortest = pathTests('payout', { machines, input: { payoutId: 'p', customerId: 'c', amountCents: 2_000_000 } });
    expect(simple.paths.length).toBeGreaterThan(shortest.paths.length);
  });
});

describe('pathTests: running against the runtime (Postgres)', () => {
  let tg: Tollgate<typeof machines>;
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  beforeAll(async () => {
    tg = await testRuntime('postgres', { machines, clock });
  });

  it('fires delayed events through the timer rows: fired when due, cancelled when the state is left', async () => {
    const suite = pathTests('subscription', { machines, input: subscriptionInput, ...byValue, paths: 'transitions' });
    const fired = await suite.paths.find((p) => p.name === 'after(trialPeriod) ⇒ active')!.run(tg);
    const start = clock.now();
    expect((await tg.timers('subscription', fired.entityId)).map((t) => t.status)).toEqual(['fired']);
    expect(fired.steps.map((s) => s.outcome)).toEqual(['created', 'fired']);
    const left = await suite.paths.find((p) => p.name === 'UPGRADE ⇒ active')!.run(tg);
    expect((await tg.timers('subscription', left.entityId)).map((t) => t.status)).toEqual(['cancelled']);
    expect(clock.now()).toBe(start);
    expect(left.refusalsChecked).toBe(2); // RESUME and UPGRADE are illegal in active
  });

  it('reports a divergence with the path, the step and the difference', async () => {
    // The runtime runs a machine whose RENEW charge differs from the model the paths were generated from.
    const plan = (cents: number) =>
      defineMachine({
        machine: setup({
          types: { context: {} as { n: number }, events: {} as { type: 'RENEW' } | { type: 'STOP' } },
          actions: { charge: (_, _p: { cents: number }) => {} },
        }).createMachine({
          id: 'plan',
          context: { n: 0 },
          initial: 'on',
          states: {
            on: { on: { RENEW: { actions: [assign({ n: 1 }), { type: 'charge', params: { cents } }] }, STOP: 'off' } },
            off: {},
          },
        }),
        version: 1,
        input: z.strictObject({}),
        events: { RENEW: z.strictObject({}), STOP: z.strictObject({}) },
      });
    const modelDef = plan(100);
    const drifted = plan(99);
    const rt = await testRuntime('postgres', { machines: { plan: drifted } });
    const suite = pathTests(modelDef, { name: 'plan', paths: 'transitions' });
    const renew = suite.paths.find((p) => p.name === 'RENEW ⇒ on')!;
    const error = await renew.run(rt).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(PathDivergence);
    const divergence = error as PathDivergence;
    expect(divergence.step).toBe(1);
    expect(divergence.what).toBe('effects written by this step (type + params, in order)');
    expect(divergence.message).toMatch(/^Path "RENEW ⇒ on" diverged from XState at step 1 \(RENEW\)/);
    expect(divergence.expected).toEqual([{ type: 'charge', params: { cents: 100 } }]);
    expect(divergence.actual).toEqual([{ type: 'charge', params: { cents: 99 } }]);
  });

  it('coverage against production history: taken but untested, and never taken', async () => {
    const suite = pathTests('order', {
      machines,
      input: { orderId: 'o1', customerId: 'c1', amountCents: 4200 },
      events: { PAY: (s) => [{ paymentId: 'pay_1', amountCents: (s.context as { amountCents: number }).amountCents }] },
      ...byValue,
    });
    const prod = await testRuntime('postgres', { machines, clock });
    // Production traffic: one order paid, invoiced and shipped; one canceled before payment.
    await prod.create('order', 'o-1', { orderId: 'o-1', customerId: 'c', amountCents: 500 });
    await prod.send('order', 'o-1', { type: 'PAY', paymentId: 'p', amountCents: 500 });
    await prod.send('order', 'o-1', { type: 'INVOICE' });
    await prod.send('order', 'o-1', { type: 'SHIP', trackingId: 't' });
    await prod.create('order', 'o-2', { orderId: 'o-2', customerId: 'c', amountCents: 500 });
    await prod.send('order', 'o-2', { type: 'CANCEL' });
    const report = await suite.productionCoverage(prod);
    expect(report.observed).toHaveLength(4);
    // Shortest paths reach issued+shipped by SHIP then INVOICE; production went INVOICE then SHIP.
    expect(report.takenButUntested).toEqual([
      { from: 'paid.invoicing.issued,paid.shipment.awaiting', event: 'SHIP', to: 'paid.invoicing.issued,paid.shipment.shipped', count: 1, inModel: true },
    ]);
    expect(report.neverTaken).toContainEqual({ from: 'pending', event: 'xstate.after.paymentTimeout.order.pending', to: 'expired' });
    expect(report.neverTaken).not.toContainEqual({ from: 'pending', event: 'CANCEL', to: 'canceled' });
    expect(formatCoverage('order', report)).toMatch(/taken 1x in production, no path: paid\.invoicing\.issued,paid\.shipment\.awaiting --SHIP--> /);
  });
});

describe('pathTests on the machines that once diverged (issue 11): wildcards, root-only, throwing evaluations', () => {
  let tg: Tollgate<typeof fidelityMachines>;
  beforeAll(async () => {
    tg = await testRuntime('postgres', { machines: fidelityMachines, clock: new ManualClock(Date.parse('2026-01-01T00:00:00Z')) });
  });

  it("takes the events a wildcard matches ('*', 'order.*', FOO's failed guard falling back) as edges, and runs them", async () => {
    const suite = pathTests(wild, { name: 'wild', paths: 'transitions', events: { FOO: [{}, { ok: true }] } });
    // BAR has no descriptor of its own: only '*' takes it; order.paid only 'order.*'; order.refund.requested only 'order.refund.*' in order.
    expect(suite.transitions).toEqual(
      expect.arrayContaining([
        { from: 'open', event: 'BAR', to: 'other' },
        { from: 'open', event: 'FOO', to: 'other' },
        { from: 'open', event: 'FOO', to: 'foo' },
        { from: 'open', event: 'order.paid', to: 'order' },
        { from: 'order', event: 'order.refund.requested', to: 'refund' },
      ]),
    );
    expect([...suite.reachableStates].sort()).toEqual(['foo', 'open', 'order', 'other', 'refund']);
    const results = await suite.runAll(tg);
    // The refusal checks send, in each state, the events no descriptor (wildcards included) takes: none in open.
    expect(results.find((r) => r.path === '(create) ⇒ open')?.refusalsChecked).toBe(0);
    expect(results.reduce((n, r) => n + r.refusalsChecked, 0)).toBeGreaterThan(0);
  });

  it('walks a root-only machine, and checks that an event the machine throws on is refused as TG_MACHINE_FAULT', async () => {
    const tallySuite = pathTests(tally, { name: 'tally' });
    expect(tallySuite.notes).toHaveLength(1); // the count grows without bound: told apart by value
    expect(tallySuite.paths.map((p) => p.name)).toEqual(['(create) ⇒ ']);
    await tallySuite.runAll(tg);
    const faultySuite = pathTests(faulty, { name: 'faulty', events: { CHECK: [{ explode: true }, {}], SET: [{ value: -1 }, { value: 2 }] } });
    // Only the samples XState evaluates without throwing are edges.
    expect(faultySuite.transitions.filter((t) => t.event === 'SET' || t.event === 'CHECK')).toEqual([
      { from: 'open', event: 'CHECK', to: 'open' },
      { from: 'open', event: 'SET', to: 'open' },
    ]);
    const results = await faultySuite.runAll(tg);
    // In open: CHECK{explode} and SET{-1} are refused as faults (the oracle says TG_MACHINE_FAULT, the runtime agrees).
    expect(results.find((r) => r.path === '(create) ⇒ open')?.refusalsChecked).toBe(2);
  });
});
