/**
 * Subscription lifecycle: trial, paid, paused, dunning grace, canceled.
 *
 * Contract (state values as XState writes them; every pair not listed is illegal: the state has no transition
 * for that event at all, so the runtime answers `TG_ILLEGAL_TRANSITION`, never `TG_GUARD_REJECTED`):
 *
 * | state | event | goes to | effects |
 * |---|---|---|---|
 * | `trial` | `UPGRADE {paymentMethodId}` | `active` | one `chargePayment` (reason `upgrade`) |
 * | `trial` | trial period ends (`after` `trialPeriod`), a payment method on file | `active` | one `chargePayment` (reason `trial_converted`) |
 * | `trial` | trial period ends, no payment method | `canceled` | one `sendEmail {template:'trial_expired'}` |
 * | `active` | `RENEW` | `active` | one `chargePayment` (reason `renewal`) |
 * | `active` | `PAYMENT_SUCCEEDED` | `active` (records the payment) | none |
 * | `active` | `PAYMENT_FAILED` | `grace` | one `sendEmail {template:'payment_failed'}`, one `chargePayment` (reason `dunning_retry`) |
 * | `active` | `PAUSE` | `{paused:'idle'}` | one `sendEmail {template:'paused'}` |
 * | `{paused:'idle'}` | `RESUME` | `{paused:'resuming'}` | one `chargePayment` (reason `resume`) |
 * | `{paused:'resuming'}` | `PAYMENT_SUCCEEDED` | `active` | none |
 * | `{paused:'resuming'}` | `PAYMENT_FAILED` | `{paused:'idle'}` | one `sendEmail {template:'payment_failed'}` |
 * | `grace` | `PAYMENT_SUCCEEDED` | `active` | none |
 * | `grace` | grace period ends (`after` `gracePeriod`) | `canceled` | one `sendEmail {template:'cancellation'}` |
 * | `trial`, `active`, `paused.*`, `grace` | `CANCEL` | `canceled` (final) | one `sendEmail {template:'cancellation'}` |
 *
 * Delays come from context (`trialPeriodMs`, default 14 days; `gracePeriodMs`, default 7 days), so the timer
 * events are `xstate.after.trialPeriod.subscription.trial` and `xstate.after.gracePeriod.subscription.grace`.
 * A failed dunning retry (`PAYMENT_FAILED` in `grace`) is deliberately illegal: the grace timer decides.
 */
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { defineMachine } from '../src/engine/definition.ts';
import { MAX_TIMER_DELAY_MS } from '../src/engine/timer-delay.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

/** Default trial length when `create` gives none. */
export const DEFAULT_TRIAL_PERIOD_MS = 14 * DAY_MS;
/** Default dunning grace length when `create` gives none. */
export const DEFAULT_GRACE_PERIOD_MS = 7 * DAY_MS;
/** Price when `create` gives no `amountCents` and the plan is not listed in {@link PLAN_PRICES_CENTS}. */
export const DEFAULT_AMOUNT_CENTS = 1000;

// A Map, not an object literal: a plan named `constructor` must not resolve to Object.prototype.constructor.
/** Price per billing period of the known plans, in cents. */
export const PLAN_PRICES_CENTS: ReadonlyMap<string, number> = new Map([
  ['basic', 1000],
  ['pro', 2900],
  ['team', 9900],
]);

const positiveInt = z.number().int().positive();
// A delay whose due time could not be stored is refused at create, naming the field.
const delayMs = positiveInt.max(MAX_TIMER_DELAY_MS);

/** Schema of `create`'s input. */
export const subscriptionInput = z.strictObject({
  customerId: z.string().min(1),
  plan: z.string().min(1),
  paymentMethodId: z.string().min(1).optional(),
  trialPeriodMs: delayMs.optional(),
  gracePeriodMs: delayMs.optional(),
  amountCents: positiveInt.optional(),
});

/** Payload schema (without `type`) of every event a caller may send. */
export const subscriptionEvents = {
  UPGRADE: z.strictObject({ paymentMethodId: z.string().min(1) }),
  RENEW: z.strictObject({}),
  PAYMENT_SUCCEEDED: z.strictObject({ chargeId: z.string().optional() }),
  PAYMENT_FAILED: z.strictObject({ reason: z.string().optional() }),
  PAUSE: z.strictObject({}),
  RESUME: z.strictObject({}),
  CANCEL: z.strictObject({ reason: z.string().optional() }),
};

export type SubscriptionInput = z.input<typeof subscriptionInput>;

// zod infers `z.strictObject({})` as Record<string, never>, which would make `{ type } & payload` uninhabitable.
type Payload<S extends z.ZodType> = string extends keyof z.output<S> ? unknown : z.output<S>;
type EventSchemas = typeof subscriptionEvents;
export type SubscriptionEvent = {
  [K in keyof EventSchemas]: { type: K } & Payload<EventSchemas[K]>;
}[keyof EventSchemas];

export interface SubscriptionContext {
  customerId: string;
  plan: string;
  paymentMethodId: string | null;
  amountCents: number;
  trialPeriodMs: number;
  gracePeriodMs: number;
  /** Number of `PAYMENT_SUCCEEDED` recorded. */
  payments: number;
  lastChargeId: string | null;
}

export type ChargeReason = 'upgrade' | 'trial_converted' | 'renewal' | 'dunning_retry' | 'resume';

export interface ChargePaymentParams {
  customerId: string;
  amountCents: number;
  paymentMethodId: string | null;
  reason: ChargeReason;
}

export type SubscriptionEmailTemplate = 'trial_expired' | 'payment_failed' | 'paused' | 'cancellation';

export interface SendEmailParams {
  customerId: string;
  template: SubscriptionEmailTemplate;
}

// Built once per reason so each transition reads as "charge for this reason".
const charge = (reason: ChargeReason) =>
  ({
    type: 'chargePayment',
    params: ({ context }: { context: SubscriptionContext }): ChargePaymentParams => ({
      customerId: context.customerId,
      amountCents: context.amountCents,
      paymentMethodId: context.paymentMethodId,
      reason,
    }),
  }) as const;

const email = (template: SubscriptionEmailTemplate) =>
  ({
    type: 'sendEmail',
    params: ({ context }: { context: SubscriptionContext }): SendEmailParams => ({
      customerId: context.customerId,
      template,
    }),
  }) as const;

const cancel = { target: '#subscription.canceled', actions: email('cancellation') } as const;

export const subscriptionMachine = setup({
  types: {
    context: {} as SubscriptionContext,
    events: {} as SubscriptionEvent,
    input: {} as SubscriptionInput,
    meta: {} as { maxDwell?: number },
  },
  actions: {
    chargePayment: (_, _params: ChargePaymentParams) => {},
    sendEmail: (_, _params: SendEmailParams) => {},
    recordPayment: assign({
      payments: ({ context }) => context.payments + 1,
      lastChargeId: ({ context, event }) =>
        event.type === 'PAYMENT_SUCCEEDED' ? (event.chargeId ?? null) : context.lastChargeId,
    }),
  },
  guards: {
    hasPaymentMethod: ({ context }) => context.paymentMethodId !== null,
  },
  delays: {
    trialPeriod: ({ context }) => context.trialPeriodMs,
    gracePeriod: ({ context }) => context.gracePeriodMs,
  },
}).createMachine({
  id: 'subscription',
  initial: 'trial',
  context: ({ input }) => ({
    customerId: input.customerId,
    plan: input.plan,
    paymentMethodId: input.paymentMethodId ?? null,
    amountCents: input.amountCents ?? PLAN_PRICES_CENTS.get(input.plan) ?? DEFAULT_AMOUNT_CENTS,
    trialPeriodMs: input.trialPeriodMs ?? DEFAULT_TRIAL_PERIOD_MS,
    gracePeriodMs: input.gracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS,
    payments: 0,
    lastChargeId: null,
  }),
  states: {
    trial: {
      // Static meta cannot read context; a day of slack past the default trial flags a lost timer.
      meta: { maxDwell: DEFAULT_TRIAL_PERIOD_MS + DAY_MS },
      after: {
        trialPeriod: [
          { guard: 'hasPaymentMethod', target: 'active', actions: charge('trial_converted') },
          { target: 'canceled', actions: email('trial_expired') },
        ],
      },
      on: {
        UPGRADE: {
          target: 'active',
          // assign runs before the charge, so the charge carries the new payment method.
          actions: [assign({ paymentMethodId: ({ event }) => event.paymentMethodId }), charge('upgrade')],
        },
        CANCEL: cancel,
      },
    },
    active: {
      on: {
        RENEW: { actions: charge('renewal') },
        PAYMENT_SUCCEEDED: { actions: 'recordPayment' },
        PAYMENT_FAILED: { target: 'grace', actions: [email('payment_failed'), charge('dunning_retry')] },
        PAUSE: { target: 'paused', actions: email('paused') },
        CANCEL: cancel,
      },
    },
    paused: {
      initial: 'idle',
      on: { CANCEL: cancel },
      states: {
        idle: {
          on: { RESUME: { target: 'resuming', actions: charge('resume') } },
        },
        resuming: {
          meta: { maxDwell: HOUR_MS },
          on: {
            PAYMENT_SUCCEEDED: { target: '#subscription.active', actions: 'recordPayment' },
            PAYMENT_FAILED: { target: 'idle', actions: email('payment_failed') },
          },
        },
      },
    },
    grace: {
      meta: { maxDwell: DEFAULT_GRACE_PERIOD_MS + DAY_MS },
      after: {
        gracePeriod: { target: 'canceled', actions: email('cancellation') },
      },
      on: {
        PAYMENT_SUCCEEDED: { target: 'active', actions: 'recordPayment' },
        CANCEL: cancel,
      },
    },
    canceled: {
      type: 'final',
    },
  },
});

export const subscription = defineMachine({
  machine: subscriptionMachine,
  version: 1,
  input: subscriptionInput,
  events: subscriptionEvents,
  compensations: { chargePayment: 'PAYMENT_FAILED' },
  description: 'Subscription: trial, active, paused, dunning grace, canceled.',
  // `payments` counts PAYMENT_SUCCEEDED without bound: path tests tell states apart by value only.
  pathTesting: [
    { input: { customerId: 'c1', plan: 'pro', paymentMethodId: 'pm_0' }, serializeState: (s) => JSON.stringify(s.value) },
    { input: { customerId: 'c1', plan: 'basic' }, serializeState: (s) => JSON.stringify(s.value) },
  ],
});
