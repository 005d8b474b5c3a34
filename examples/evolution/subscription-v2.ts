/**
 * Release 2 of the subscription lifecycle (docs/evolution.md): the dunning `grace` state is split into
 * `grace.first_notice` and `grace.final_notice`. Half-way through the grace period a final notice is emailed; at
 * its end the subscription is canceled, as in release 1. The migration moves release 1's `grace` entities into
 * `grace.first_notice`; their grace timer is re-derived from the new states' `after`.
 */
import { assign, setup } from 'xstate';

import { defineMachine, type PersistedSnapshot } from '../../src/engine/definition.ts';
import {
  DEFAULT_AMOUNT_CENTS,
  DEFAULT_GRACE_PERIOD_MS,
  DEFAULT_TRIAL_PERIOD_MS,
  PLAN_PRICES_CENTS,
  subscriptionEvents,
  subscriptionInput,
  type ChargeReason,
  type SubscriptionContext,
  type SubscriptionEvent,
  type SubscriptionInput,
} from '../../machines/subscription.ts';

type Template = 'trial_expired' | 'payment_failed' | 'paused' | 'cancellation' | 'final_notice';

const charge = (reason: ChargeReason) =>
  ({
    type: 'chargePayment',
    params: ({ context }: { context: SubscriptionContext }) => ({
      customerId: context.customerId,
      amountCents: context.amountCents,
      paymentMethodId: context.paymentMethodId,
      reason,
    }),
  }) as const;

const email = (template: Template) =>
  ({ type: 'sendEmail', params: ({ context }: { context: SubscriptionContext }) => ({ customerId: context.customerId, template }) }) as const;

const cancel = { target: '#subscription.canceled', actions: email('cancellation') } as const;

const machine = setup({
  types: { context: {} as SubscriptionContext, events: {} as SubscriptionEvent, input: {} as SubscriptionInput },
  actions: {
    chargePayment: (_, _params: unknown) => {},
    sendEmail: (_, _params: unknown) => {},
    recordPayment: assign({
      payments: ({ context }) => context.payments + 1,
      lastChargeId: ({ context, event }) => (event.type === 'PAYMENT_SUCCEEDED' ? (event.chargeId ?? null) : context.lastChargeId),
    }),
  },
  guards: { hasPaymentMethod: ({ context }) => context.paymentMethodId !== null },
  delays: {
    trialPeriod: ({ context }) => context.trialPeriodMs,
    firstNotice: ({ context }) => Math.floor(context.gracePeriodMs / 2),
    finalNotice: ({ context }) => context.gracePeriodMs - Math.floor(context.gracePeriodMs / 2),
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
      after: {
        trialPeriod: [
          { guard: 'hasPaymentMethod', target: 'active', actions: charge('trial_converted') },
          { target: 'canceled', actions: email('trial_expired') },
        ],
      },
      on: {
        UPGRADE: { target: 'active', actions: [assign({ paymentMethodId: ({ event }) => event.paymentMethodId }), charge('upgrade')] },
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
        idle: { on: { RESUME: { target: 'resuming', actions: charge('resume') } } },
        resuming: {
          on: {
            PAYMENT_SUCCEEDED: { target: '#subscription.active', actions: 'recordPayment' },
            PAYMENT_FAILED: { target: 'idle', actions: email('payment_failed') },
          },
        },
      },
    },
    grace: {
      initial: 'first_notice',
      on: { PAYMENT_SUCCEEDED: { target: 'active', actions: 'recordPayment' }, CANCEL: cancel },
      states: {
        first_notice: { after: { firstNotice: { target: 'final_notice', actions: email('final_notice') } } },
        final_notice: { after: { finalNotice: { target: '#subscription.canceled', actions: email('cancellation') } } },
      },
    },
    canceled: { type: 'final' },
  },
});

/** Release 1's `grace` becomes `grace.first_notice`; every other state is unchanged. */
export function graceToFirstNotice(snapshot: PersistedSnapshot): PersistedSnapshot {
  return snapshot.value === 'grace' ? { ...snapshot, value: { grace: 'first_notice' } } : snapshot;
}

const definition = {
  machine,
  version: 2,
  input: subscriptionInput,
  events: subscriptionEvents,
  compensations: { chargePayment: 'PAYMENT_FAILED' },
  description: 'Subscription, release 2: grace split into a first and a final notice.',
};

/** Release 2 with its migration from release 1. */
export const subscriptionV2 = defineMachine({ ...definition, migrations: { 1: graceToFirstNotice } });

/** Release 2 without a migration: what `tollgate deploy-check` refuses. */
export const subscriptionV2WithoutMigration = defineMachine(definition);

