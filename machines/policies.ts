import type { Policy } from '../src/policy/policy.ts';

/**
 * The demo's policy versions (docs/governance.md): registered in code, oldest first; which one applies is switched
 * at run time with `tollgate policy activate payout <version> --reason "..."`. The newest applies until then.
 */

/** Strict: no payout of $50,000 or more is submitted (a rule for an incident or a regulator's hold). */
export const payoutStrict20261101: Policy = {
  version: '2026-11-01-strict',
  check: ({ entity, event }) =>
    event.type === 'SUBMIT' && Number((entity.context as { amountCents?: unknown }).amountCents) >= 5_000_000
      ? { allow: false, reason: 'payouts of $50,000 or more are held under the strict policy' }
      : { allow: true },
};

/** Normal operations: the machine's own rules (compliance review above the threshold) are enough. */
export const payoutStandard20261201: Policy = { version: '2026-12-01-standard', check: () => ({ allow: true }) };

/** The registered policy versions by machine. */
export const policies = { payout: [payoutStrict20261101, payoutStandard20261201] };
