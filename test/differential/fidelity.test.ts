import { beforeAll, describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { defineMachine, ManualClock, type Tollgate } from '../../src/index.ts';
import { checkout, differentialMachines, faulty, studio, tally, wild } from '../fixtures/fidelity-machines.ts';
import { deep, grid } from '../fixtures/stress-machines.ts';
import { backends, testRuntime, type Backend } from '../support/databases.ts';
import { checkFidelity, Divergence, type DifferentialSpec, type SampleEvent } from './harness.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

const registry = { ...machines, deep, grid, ...differentialMachines };

const plain = (...types: string[]): SampleEvent[] => types.map((type) => ({ type }));

interface Spec extends DifferentialSpec {
  /** Random sequences per backend (FC_RUNS overrides both): PGlite runs in this process and is slower, so it gets fewer. */
  readonly runs: Readonly<Record<Backend, number>>;
  /** Distinct state values the runs must reach between them: what the scenarios alone reach (FC_RUNS=0). */
  readonly minStates: number;
  /** Outcomes the runs must have met between them (send outcomes, `timer fired`, `timer stale: <code>`). */
  readonly outcomes: readonly string[];
}

const basic = ['accepted', 'TG_ILLEGAL_TRANSITION', 'timer fired'];
// The shipped machines and the stress machines, covered before issue 11: a share on Postgres, their scenarios alone on
// PGlite (the runtime suites already run them there).
const shipped = { postgres: 15, pglite: 0 };
// The machines of issue 11's list of constructs: the issue asks for 200 random sequences each (of up to 12 commands).
// PGlite runs in this process and costs about twice the CPU per command: it gets 10 besides the scenarios, which
// reach the same corners whatever the seed.
const constructs = { postgres: 200, pglite: 10 };

const specs: Spec[] = [
  {
    name: 'subscription',
    runs: shipped,
    outcomes: basic,
    minStates: 6,
    definition: machines.subscription,
    inputs: [
      { customerId: 'c1', plan: 'pro', paymentMethodId: 'pm_0', trialPeriodMs: 5000, gracePeriodMs: 3000 },
      { customerId: 'c2', plan: 'basic', trialPeriodMs: 4000, gracePeriodMs: 2000 },
    ],
    scenarios: [
      { input: 0, commands: ['tick', 'RENEW', 'PAYMENT_FAILED', 'PAYMENT_SUCCEEDED', 'PAUSE', 'RESUME', 'PAYMENT_FAILED', 'RESUME', 'PAYMENT_SUCCEEDED', 'PAYMENT_FAILED', 'tick', 'RENEW'] },
      { input: 1, commands: ['PAUSE', 'tick', 'UPGRADE'] },
    ],
    events: [
      { type: 'UPGRADE', paymentMethodId: 'pm_1' },
      { type: 'PAYMENT_SUCCEEDED', chargeId: 'ch_1' },
      { type: 'PAYMENT_FAILED', reason: 'declined' },
      { type: 'CANCEL', reason: 'user' },
      ...plain('RENEW', 'PAUSE', 'RESUME', 'PAYMENT_SUCCEEDED'),
    ],
  },
  {
    name: 'order',
    runs: shipped,
    outcomes: [...basic, 'TG_GUARD_REJECTED'],
    minStates: 9,
    definition: machines.order,
    inputs: [{ orderId: 'o1', customerId: 'c1', amountCents: 4200, paymentTimeoutMs: 6000 }],
    scenarios: [
      { input: 0, commands: ['PAY#2', 'PAY', 'tick', 'SHIP', 'INVOICE', 'CANCEL', 'DELIVER'] },
      { input: 0, commands: ['PAY', 'CANCEL', 'REFUND_FAILED', 'RETRY_REFUND', 'REFUND_SUCCEEDED', 'PAY'] },
      { input: 0, commands: ['tick', 'PAY'] },
    ],
    events: [
      { type: 'PAY', paymentId: 'pay_1', amountCents: 4200 },
      { type: 'PAY', paymentId: 'pay_2', amountCents: 100 },
      { type: 'SHIP', trackingId: 'trk_1' },
      { type: 'REFUND_FAILED', reason: 'closed' },
      { type: 'PAYMENT_FAILED', reason: 'chargeback' },
      ...plain('DELIVER', 'INVOICE', 'CANCEL', 'REFUND_SUCCEEDED', 'RETRY_REFUND'),
    ],
  },
  {
    name: 'payout',
    runs: shipped,
    outcomes: basic,
    minStates: 7,
    definition: machines.payout,
    inputs: [
      { payoutId: 'p1', customerId: 'c1', amountCents: 5000, retryDelayMs: 700 },
      { payoutId: 'p2', customerId: 'c1', amountCents: 2_000_000, maxAttempts: 2, retryDelayMs: 700, reviewTimeoutMs: 9000 },
    ],
    scenarios: [
      { input: 0, commands: ['APPROVE', 'SUBMIT', 'TRANSFER_FAILED', 'tick', 'TRANSFER_FAILED', 'tick', 'TRANSFER_FAILED', 'tick'] },
      { input: 1, commands: ['SUBMIT', 'tick', 'APPROVE', 'TRANSFER_FAILED', 'tick', 'TRANSFER_FAILED'] },
      { input: 1, commands: ['SUBMIT', 'ESCALATE', 'REJECT'] },
    ],
    events: [
      { type: 'APPROVE', reviewerId: 'rev_1' },
      { type: 'REJECT', reviewerId: 'rev_1', reason: 'kyc' },
      { type: 'TRANSFER_SUCCEEDED', transferId: 'tr_1' },
      { type: 'TRANSFER_FAILED', reason: 'timeout' },
      ...plain('SUBMIT', 'ESCALATE', 'TRANSFER_FAILED'),
    ],
  },
  {
    name: 'deep',
    runs: shipped,
    outcomes: [...basic, 'TG_GUARD_REJECTED'],
    minStates: 7,
    definition: deep,
    inputs: [{}, { limit: 0 }],
    scenarios: [
      // Big bump to c, RAISE'd STEP back to a, b's nap fires, deep history brings back b and shallow history only
      // middle (so a); always c -> d at level 2; other's delayed PING and snooze fire; SUSPEND cancels them both.
      {
        input: 0,
        commands: ['BUMP#2', 'RAISE', 'STEP', 'tick', 'STEP', 'SUSPEND', 'RESUME_DEEP', 'STEP', 'SUSPEND', 'RESUME', 'BUMP', 'BUMP',
          'BUMP#2', 'RESET', 'SWITCH', 'tick', 'tick', 'SWITCH', 'SUSPEND', 'tick', 'RESUME_DEEP', 'FINISH', 'SUSPEND', 'FINISH', 'STEP'],
      },
      { input: 1, commands: ['BUMP', 'BUMP#2', 'STEP', 'BUMP', 'BUMP', 'BUMP#2', 'RESET', 'SWITCH', 'SUSPEND', 'RESUME_DEEP', 'tick', 'tick'] },
    ],
    events: [{ type: 'BUMP', by: 1 }, { type: 'BUMP', by: 7 }, ...plain('STEP', 'STEP', 'RAISE', 'RESET', 'SWITCH', 'BACK', 'SUSPEND', 'RESUME', 'RESUME_DEEP', 'FINISH')],
  },
  {
    name: 'grid',
    runs: shipped,
    outcomes: [...basic, 'TG_GUARD_REJECTED'],
    minStates: 12,
    definition: grid,
    inputs: [{}],
    scenarios: [
      { input: 0, commands: ['RESTART', 'RIGHT', 'TOGGLE', 'RIGHT', 'tick', 'TOGGLE', 'INC#3', 'INC#2', 'INC', 'tick', 'LEFT', 'tick'] },
      { input: 0, commands: ['ABORT', 'RESTART', 'LEFT', 'LEFT', 'INC#2', 'INC#2', 'TOGGLE', 'RIGHT', 'RIGHT'] },
    ],
    events: [{ type: 'INC', by: 1 }, { type: 'INC', by: 2 }, { type: 'INC', by: 9 }, ...plain('LEFT', 'RIGHT', 'TOGGLE', 'ENABLE', 'ABORT', 'RESTART')],
  },
  {
    // Root-only: no child states, the value is {}.
    name: 'tally',
    runs: constructs,
    minStates: 1,
    outcomes: ['accepted', 'TG_GUARD_REJECTED'],
    definition: tally,
    inputs: [{}, { step: 3 }],
    scenarios: [{ input: 1, commands: ['inc', 'inc', 'add', 'inc', 'inc', 'reset', 'inc'] }],
    events: [{ type: 'inc' }, { type: 'inc' }, { type: 'add', by: 7 }, { type: 'add', by: -2 }, { type: 'reset' }],
    maxLength: 12,
  },
  {
    // '*' and 'order.*' beside exact descriptors; FOO's guard failing falls back to '*'.
    name: 'wild',
    runs: constructs,
    minStates: 5,
    outcomes: ['accepted', 'TG_ILLEGAL_TRANSITION'],
    definition: wild,
    inputs: [{}],
    scenarios: [{ input: 0, commands: ['FOO', 'BACK', 'FOO#2', 'BACK', 'BAR', 'BAR', 'BACK', 'order.paid', 'BAR', 'order.refund.requested', 'BACK'] }],
    events: [{ type: 'FOO' }, { type: 'FOO', ok: true }, ...plain('BAR', 'order.paid', 'order.refund.requested', 'BACK', 'BACK')],
    maxLength: 12,
  },
  {
    // A guard, an assign, the final output and a timer's assign that throw: TG_MACHINE_FAULT, a stale timer.
    name: 'faulty',
    runs: constructs,
    minStates: 3,
    outcomes: ['accepted', 'TG_ILLEGAL_TRANSITION', 'TG_MACHINE_FAULT', 'timer stale: TG_MACHINE_FAULT'],
    definition: faulty,
    inputs: [{}],
    scenarios: [
      { input: 0, commands: ['CHECK#2', 'SET#2', 'SET', 'CLOSE', 'ARM', 'tick', 'CHECK', 'SET#3', 'CLOSE', 'SET'] },
      { input: 0, commands: ['SET#3', 'CHECK', 'CLOSE', 'SET'] },
    ],
    events: [{ type: 'CHECK' }, { type: 'CHECK', explode: true }, { type: 'SET', value: 13 }, { type: 'SET', value: -1 }, { type: 'SET', value: 2 }, ...plain('ARM', 'CLOSE')],
    maxLength: 12,
  },
  {
    name: 'studio',
    runs: constructs,
    minStates: 8,
    outcomes: ['accepted', 'TG_ILLEGAL_TRANSITION', 'TG_GUARD_REJECTED', 'timer fired', 'timer stale: TG_GUARD_REJECTED'],
    definition: studio,
    inputs: [{ owner: 'ada' }, { owner: 'bob', autosaveMs: 1303 }],
    scenarios: [
      // Deep history over both regions brings back editing.bold and offline; shallow history in the document only
      // editing (at its initial plain), deep history in the document editing.bold (the network region starts over);
      // a plain UNLOCK starts over; autosave is refused offline, taken online.
      {
        input: 0,
        commands: ['EDIT#2', 'BOLD', 'GO_OFFLINE', 'LOCK', 'UNLOCK_DEEP', 'GO_ONLINE', 'tick', 'BOLD', 'GO_ONLINE', 'LOCK', 'UNLOCK_DOC', 'BOLD', 'GO_OFFLINE', 'LOCK', 'UNLOCK_DOC_DEEP',
          'LOCK', 'UNLOCK', 'EDIT', 'SAVE', 'EDIT', 'tick', 'tick', 'LOCK', 'PUBLISH', 'UNLOCK', 'EDIT#2', 'SAVE', 'LOCK', 'PUBLISH', 'EDIT'],
      },
      { input: 1, commands: ['EDIT', 'GO_OFFLINE', 'SAVE', 'EDIT#2', 'EDIT#2', 'SAVE', 'tick', 'tick', 'EDIT', 'tick', 'LOCK', 'PUBLISH'] },
    ],
    events: [{ type: 'EDIT', chars: 5 }, { type: 'EDIT', chars: 70 }, ...plain('BOLD', 'SAVE', 'SAVED', 'GO_OFFLINE', 'GO_ONLINE', 'LOCK', 'UNLOCK', 'UNLOCK_DOC', 'UNLOCK_DOC_DEEP', 'UNLOCK_DEEP', 'PUBLISH')],
    maxLength: 12,
  },
  {
    name: 'checkout',
    runs: constructs,
    minStates: 7,
    outcomes: ['accepted', 'TG_ILLEGAL_TRANSITION', 'TG_GUARD_REJECTED', 'timer fired'],
    definition: checkout,
    inputs: [{}, { maxAttempts: 3 }],
    scenarios: [
      // No checkout of an empty cart; the wildcard coupon once only; the wizard's final output read by onDone; the reminder (a delayed raise with a
      // payload) fires, is cancelled by the re-entry and raised again; the payment window runs out.
      {
        input: 1,
        commands: ['NEXT', 'coupon.vip', 'ADD', 'coupon.vip', 'coupon.spring', 'NEXT', 'ADD', 'ADDRESS', 'EXPRESS', 'ADDRESS', 'STANDARD', 'NEXT', 'tick',
          'DECLINED', 'tick', 'tick', 'RETRY', 'NEXT', 'ADDRESS', 'STANDARD', 'CONFIRM', 'DECLINED', 'DECLINED', 'RETRY', 'ADD'],
      },
      { input: 0, commands: ['ADD', 'NEXT', 'ADDRESS', 'EXPRESS', 'CONFIRM', 'PAID', 'ADD'] },
    ],
    events: [
      { type: 'ADD', priceCents: 1250 },
      { type: 'ADDRESS', address: '1 Main St' },
      { type: 'PAID', paymentId: 'pay_1' },
      { type: 'REMIND', attempt: 9 },
      ...plain('coupon.spring', 'coupon.vip', 'NEXT', 'STANDARD', 'EXPRESS', 'CONFIRM', 'DECLINED', 'RETRY'),
    ],
    maxLength: 12,
  },
];

const override = process.env.FC_RUNS === undefined ? undefined : Number(process.env.FC_RUNS);

describe.each(backends())('differential fidelity on %s: one long-lived XState actor vs the persisted runtime (no snapshot cache)', (backend) => {
  // Postgres: four runtimes (each with its own clock) share the sequences out, so that the database round trips of
  // one overlap the others' work. PGlite runs in this process: one.
  let lanes: Tollgate[];
  beforeAll(async () => {
    const make = (schema?: string) =>
      testRuntime(backend, { machines: registry, clock: new ManualClock(Date.parse('2026-01-01T00:00:00Z')), snapshotCacheSize: 0, schema });
    const first = await make();
    // The other lanes share the first one's schema (entity ids never collide; each fires only its own timer rows).
    const others = backend === 'postgres' ? await Promise.all([1, 2, 3].map(() => make(testAccess(first).schema))) : [];
    lanes = [first, ...others] as unknown as Tollgate[];
  }, 60_000);

  for (const spec of specs) {
    it(`${spec.name}: random event sequences (illegal ones and timer ticks included) agree after every command`, async () => {
      const stats = await checkFidelity(lanes, spec, override ?? spec.runs[backend]);
      // Not vacuous: the sequences went deep, were refused both ways, fired timers (and faulted where the machine throws).
      expect([...stats.outcomes]).toEqual(expect.arrayContaining([...spec.outcomes]));
      expect(stats.states.size).toBeGreaterThanOrEqual(spec.minStates);
    }, 120_000);
  }
});

// The suite must catch a runtime that does not do what the actor does: here the runtime's studio reconnects 91 ms
// late and its checkout lets a coupon through twice (the same machines, other implementations), while the actor runs
// the originals. Engine mutations are caught the same way (see the commit that widened this suite).
describe('differential fidelity catches a planted divergence', () => {
  const drifted = {
    studio: defineMachine({ ...studio, machine: studio.machine.provide({ delays: { reconnect: 1800 } }) }),
    checkout: defineMachine({ ...checkout, machine: checkout.machine.provide({ guards: { hasItems: ({ context }) => context.items >= 0 } }) }),
  };
  const spec = (name: 'studio' | 'checkout') => specs.find((s) => s.name === name) as Spec;

  it.each([
    ['studio', /studio: timers differs after 'GO_OFFLINE'/],
    ['checkout', /checkout: outcome differs after 'NEXT'[\s\S]*actor \(XState\): "TG_GUARD_REJECTED"[\s\S]*runtime: +"accepted"/],
  ] as const)('%s', async (name, message) => {
    const tg = await testRuntime(backends()[0] as Backend, { machines: drifted, clock: new ManualClock(Date.parse('2026-01-01T00:00:00Z')), snapshotCacheSize: 0 });
    const error = await checkFidelity(tg as unknown as Tollgate, spec(name), 0, { shrink: false }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(Divergence);
    expect((error as Error).message).toMatch(message);
  }, 60_000);
});
