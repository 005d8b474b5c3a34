/**
 * Path-test options for the shipped machines: inputs that reach every branch, payloads that pass (and fail)
 * guards, and state identities that keep unbounded counters out of the graph. Used by the vitest suites and by
 * `tollgate test-paths <machine> --options test/paths/options.ts`.
 */
import type { AnyMachineSnapshot } from 'xstate';
import type { PathTestOptions } from '../../src/testing/index.ts';

const byValue = (s: AnyMachineSnapshot) => JSON.stringify(s.value);

export const pathTestOptions: Readonly<Record<string, readonly PathTestOptions[]>> = {
  subscription: [
    // `payments` counts PAYMENT_SUCCEEDED without bound: states are told apart by value only.
    { input: { customerId: 'c1', plan: 'pro', paymentMethodId: 'pm_0' }, serializeState: byValue, paths: 'transitions' },
    { input: { customerId: 'c1', plan: 'basic' }, serializeState: byValue, paths: 'transitions' },
  ],
  order: [
    {
      input: { orderId: 'o1', customerId: 'c1', amountCents: 4200 },
      events: {
        // The first pays in full (paysInFull passes), the second does not (TG_GUARD_REJECTED).
        PAY: (s) => [
          { paymentId: 'pay_1', amountCents: (s.context as { amountCents: number }).amountCents },
          { paymentId: 'pay_2', amountCents: 1 },
        ],
        SHIP: { trackingId: 'trk_1' },
        REFUND_FAILED: { reason: 'card_closed' },
      },
      // `refundAttempts` grows with every RETRY_REFUND.
      serializeState: byValue,
      paths: 'transitions',
    },
  ],
  payout: [
    // Context is bounded (attempts <= maxAttempts): the default identity (value + context) walks every retry.
    { input: { payoutId: 'p1', customerId: 'c1', amountCents: 5000 }, paths: 'transitions' },
    {
      input: { payoutId: 'p2', customerId: 'c1', amountCents: 2_000_000, maxAttempts: 2 },
      events: { APPROVE: { reviewerId: 'rev_1' }, REJECT: { reviewerId: 'rev_1', reason: 'kyc' } },
      paths: 'transitions',
    },
  ],
};
