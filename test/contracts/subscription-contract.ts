/**
 * The subscription contract as data, to drive any implementation (pure xstate, the persisted runtime) through
 * every (state, event) pair. Self-contained: only type imports.
 *
 * - `subscriptionStates`: each named situation, its XState value and how to reach it: `create` with `input`,
 *   then send `path` in order (timer events by their full `xstate.after...` type).
 * - `subscriptionLegal`: every accepted pair, the situation it lands in and its exact effects (custom actions,
 *   in order, with their full params).
 * - `subscriptionIllegal`: every other (situation, event) pair; the sample event in
 *   `subscriptionSampleEvents` has a valid payload, so a refusal can only be for illegality.
 */
import type { StateValue } from 'xstate';
import type { SubscriptionEvent, SubscriptionInput } from '../../machines/subscription.ts';

export const TRIAL_TIMER = 'xstate.after.trialPeriod.subscription.trial';
export const GRACE_TIMER = 'xstate.after.gracePeriod.subscription.grace';

/** Event types a caller may send (the definition's `events` keys). */
export const subscriptionEventTypes = [
  'UPGRADE',
  'RENEW',
  'PAYMENT_SUCCEEDED',
  'PAYMENT_FAILED',
  'PAUSE',
  'RESUME',
  'CANCEL',
] as const;

/** Delayed events: sent by the timer scheduler, never by callers. */
export const subscriptionTimerEventTypes = [TRIAL_TIMER, GRACE_TIMER] as const;

export const subscriptionAllEventTypes = [...subscriptionEventTypes, ...subscriptionTimerEventTypes] as const;

export type ContractEventType = (typeof subscriptionAllEventTypes)[number];
export type ContractEvent = SubscriptionEvent | { type: typeof TRIAL_TIMER } | { type: typeof GRACE_TIMER };

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface ContractEffect {
  type: 'chargePayment' | 'sendEmail';
  params: Record<string, JsonValue>;
}

export type SubscriptionSituation =
  | 'trial'
  | 'trialWithPaymentMethod'
  | 'active'
  | 'pausedIdle'
  | 'pausedResuming'
  | 'grace'
  | 'canceled';

export interface ContractState {
  /** The snapshot's `value` once there. */
  value: StateValue;
  input: SubscriptionInput;
  path: ContractEvent[];
}

export interface ContractRow {
  from: SubscriptionSituation;
  event: ContractEvent;
  /** Where it lands; its value is `subscriptionStates[to].value`. */
  to: SubscriptionSituation;
  effects: ContractEffect[];
}

const CUSTOMER = 'cus_contract';
const AMOUNT = 2500;
const NEW_METHOD = 'pm_upgrade';
const METHOD_ON_FILE = 'pm_on_file';

// Short timers so a runtime test can let them fire for real.
const input: SubscriptionInput = {
  customerId: CUSTOMER,
  plan: 'pro',
  amountCents: AMOUNT,
  trialPeriodMs: 50,
  gracePeriodMs: 50,
};
const inputWithMethod: SubscriptionInput = { ...input, paymentMethodId: METHOD_ON_FILE };

const upgrade = { type: 'UPGRADE', paymentMethodId: NEW_METHOD } as const;

export const subscriptionStates: Record<SubscriptionSituation, ContractState> = {
  trial: { value: 'trial', input, path: [] },
  trialWithPaymentMethod: { value: 'trial', input: inputWithMethod, path: [] },
  active: { value: 'active', input, path: [upgrade] },
  pausedIdle: { value: { paused: 'idle' }, input, path: [upgrade, { type: 'PAUSE' }] },
  pausedResuming: { value: { paused: 'resuming' }, input, path: [upgrade, { type: 'PAUSE' }, { type: 'RESUME' }] },
  grace: { value: 'grace', input, path: [upgrade, { type: 'PAYMENT_FAILED' }] },
  canceled: { value: 'canceled', input, path: [{ type: 'CANCEL' }] },
};

/** A valid event of each type, used for the illegal pairs. */
export const subscriptionSampleEvents: Record<ContractEventType, ContractEvent> = {
  UPGRADE: upgrade,
  RENEW: { type: 'RENEW' },
  PAYMENT_SUCCEEDED: { type: 'PAYMENT_SUCCEEDED', chargeId: 'ch_contract' },
  PAYMENT_FAILED: { type: 'PAYMENT_FAILED', reason: 'card_declined' },
  PAUSE: { type: 'PAUSE' },
  RESUME: { type: 'RESUME' },
  CANCEL: { type: 'CANCEL', reason: 'customer_request' },
  [TRIAL_TIMER]: { type: TRIAL_TIMER },
  [GRACE_TIMER]: { type: GRACE_TIMER },
};

const charge = (reason: string, paymentMethodId: string | null = NEW_METHOD): ContractEffect => ({
  type: 'chargePayment',
  params: { customerId: CUSTOMER, amountCents: AMOUNT, paymentMethodId, reason },
});
const email = (template: string): ContractEffect => ({ type: 'sendEmail', params: { customerId: CUSTOMER, template } });

const cancelFrom = (from: SubscriptionSituation): ContractRow => ({
  from,
  event: subscriptionSampleEvents.CANCEL,
  to: 'canceled',
  effects: [email('cancellation')],
});

export const subscriptionLegal: ContractRow[] = [
  { from: 'trial', event: upgrade, to: 'active', effects: [charge('upgrade')] },
  { from: 'trial', event: { type: TRIAL_TIMER }, to: 'canceled', effects: [email('trial_expired')] },
  cancelFrom('trial'),
  // UPGRADE replaces the method on file before charging.
  { from: 'trialWithPaymentMethod', event: upgrade, to: 'active', effects: [charge('upgrade')] },
  {
    from: 'trialWithPaymentMethod',
    event: { type: TRIAL_TIMER },
    to: 'active',
    effects: [charge('trial_converted', METHOD_ON_FILE)],
  },
  cancelFrom('trialWithPaymentMethod'),
  { from: 'active', event: { type: 'RENEW' }, to: 'active', effects: [charge('renewal')] },
  { from: 'active', event: subscriptionSampleEvents.PAYMENT_SUCCEEDED, to: 'active', effects: [] },
  {
    from: 'active',
    event: subscriptionSampleEvents.PAYMENT_FAILED,
    to: 'grace',
    effects: [email('payment_failed'), charge('dunning_retry')],
  },
  { from: 'active', event: { type: 'PAUSE' }, to: 'pausedIdle', effects: [email('paused')] },
  cancelFrom('active'),
  { from: 'pausedIdle', event: { type: 'RESUME' }, to: 'pausedResuming', effects: [charge('resume')] },
  cancelFrom('pausedIdle'),
  { from: 'pausedResuming', event: subscriptionSampleEvents.PAYMENT_SUCCEEDED, to: 'active', effects: [] },
  {
    from: 'pausedResuming',
    event: subscriptionSampleEvents.PAYMENT_FAILED,
    to: 'pausedIdle',
    effects: [email('payment_failed')],
  },
  cancelFrom('pausedResuming'),
  { from: 'grace', event: subscriptionSampleEvents.PAYMENT_SUCCEEDED, to: 'active', effects: [] },
  { from: 'grace', event: { type: GRACE_TIMER }, to: 'canceled', effects: [email('cancellation')] },
  cancelFrom('grace'),
];

/** Every (situation, event) pair that is not in {@link subscriptionLegal}. */
export const subscriptionIllegal: Array<{ from: SubscriptionSituation; event: ContractEvent }> = (
  Object.keys(subscriptionStates) as SubscriptionSituation[]
).flatMap((from) =>
  subscriptionAllEventTypes
    .filter((type) => !subscriptionLegal.some((row) => row.from === from && row.event.type === type))
    .map((type) => ({ from, event: subscriptionSampleEvents[type] })),
);
