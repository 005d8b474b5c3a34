import { beforeAll, describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { ManualClock, type Tollgate } from '../../src/index.ts';
import { deep, grid } from '../fixtures/stress-machines.ts';
import { testRuntime } from '../support/databases.ts';
import { checkFidelity, type DifferentialSpec, type SampleEvent } from './harness.ts';

const registry = { ...machines, deep, grid };
const NUM_RUNS = Number(process.env.FC_RUNS ?? 30);

const plain = (...types: string[]): SampleEvent[] => types.map((type) => ({ type }));

// minStates: distinct state values the runs must reach between them: what the scenarios alone reach (FC_RUNS=0).
// guardRefusals: whether the machine has a guarded transition without an unguarded fallback.
const specs: Array<DifferentialSpec & { minStates: number; guardRefusals: boolean }> = [
  {
    name: 'subscription',
    guardRefusals: false,
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
    guardRefusals: true,
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
    guardRefusals: false,
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
    guardRefusals: true,
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
    guardRefusals: true,
    minStates: 12,
    definition: grid,
    inputs: [{}],
    scenarios: [
      { input: 0, commands: ['RESTART', 'RIGHT', 'TOGGLE', 'RIGHT', 'tick', 'TOGGLE', 'INC#3', 'INC#2', 'INC', 'tick', 'LEFT', 'tick'] },
      { input: 0, commands: ['ABORT', 'RESTART', 'LEFT', 'LEFT', 'INC#2', 'INC#2', 'TOGGLE', 'RIGHT', 'RIGHT'] },
    ],
    events: [{ type: 'INC', by: 1 }, { type: 'INC', by: 2 }, { type: 'INC', by: 9 }, ...plain('LEFT', 'RIGHT', 'TOGGLE', 'ENABLE', 'ABORT', 'RESTART')],
  },
];

describe('differential fidelity: one long-lived XState actor vs the persisted runtime (Postgres, no snapshot cache)', () => {
  let tg: Tollgate<typeof registry>;
  beforeAll(async () => {
    tg = await testRuntime('postgres', { machines: registry, clock: new ManualClock(Date.parse('2026-01-01T00:00:00Z')), snapshotCacheSize: 0 });
  });

  for (const spec of specs) {
    it(`${spec.name}: random event sequences (illegal ones included) agree after every event`, async () => {
      const stats = await checkFidelity(tg, spec, NUM_RUNS);
      // Not vacuous: the sequences went deep, were refused both ways and fired timers.
      expect([...stats.outcomes].sort()).toEqual(['TG_GUARD_REJECTED', 'TG_ILLEGAL_TRANSITION', 'accepted', 'timer fired'].filter((o) => spec.guardRefusals || o !== 'TG_GUARD_REJECTED'));
      expect(stats.states.size).toBeGreaterThanOrEqual(spec.minStates);
    }, 60_000);
  }
});
