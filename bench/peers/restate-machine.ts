/**
 * The subscription lifecycle as `@restatedev/xstate` can run it. That integration runs a side effect only as a
 * `fromPromise` actor invoked by a state (custom actions would run inline in the handler, unjournaled), so the
 * charge and the email become invoked promises and the handler's follow-up is the invoke's `onDone`: the states,
 * events, context and the trial timer of machines/subscription.ts, with `active.charging` -> `active.paid`
 * standing for "charged, PAYMENT_SUCCEEDED recorded" and `canceling` for "cancellation email being sent".
 * Built with this package's own xstate copy, the one `@restatedev/xstate` evaluates with.
 */
import { assign, setup } from 'xstate';
import { fromPromise } from '@restatedev/xstate/promise';
import type { Provider } from './harness.ts';
import { signals } from './harness.ts';

interface Context {
  customerId: string;
  plan: string;
  paymentMethodId: string | null;
  amountCents: number;
  trialPeriodMs: number;
  payments: number;
  lastChargeId: string | null;
}

type Event = { type: 'UPGRADE'; paymentMethodId: string } | { type: 'CANCEL'; reason?: string } | { type: 'RESUME' };

export function restateSubscriptionMachine(provider: Provider) {
  return setup({
    types: { context: {} as Context, events: {} as Event, input: {} as { customerId: string; plan: string } },
    actors: {
      // The promise runs in the object's shared `invokePromise` handler; its invocation id is stable across that
      // handler's retries, so it is the provider's idempotency key; ctx.run journals the call's result.
      chargePayment: fromPromise<string, { customerId: string }>(async ({ input, ctx }) => {
        const key = ctx.request().id;
        return ctx.run('charge', () => provider.charge('restate', key, input.customerId));
      }, { retry: true }),
      sendEmail: fromPromise<void, { customerId: string }>(async ({ input, ctx }) => {
        const key = ctx.request().id;
        await ctx.run('email', () => provider.email('restate', key, input.customerId));
      }, { retry: true }),
    },
    actions: {
      recordPayment: assign({ payments: ({ context }) => context.payments + 1 }),
      // Inline, in the invocation that applies the follow-up: Restate commits its state when that invocation ends.
      followUpApplied: ({ context }) => signals.fire(`paid:restate:${context.customerId}`),
    },
    delays: { trialPeriod: ({ context }) => context.trialPeriodMs },
  }).createMachine({
    id: 'subscription',
    initial: 'trial',
    context: ({ input }) => ({
      customerId: input.customerId,
      plan: input.plan,
      paymentMethodId: null,
      amountCents: 2900,
      trialPeriodMs: 14 * 24 * 60 * 60 * 1000,
      payments: 0,
      lastChargeId: null,
    }),
    states: {
      trial: {
        after: { trialPeriod: { target: 'canceling' } },
        on: {
          UPGRADE: { target: 'active', actions: assign({ paymentMethodId: ({ event }) => event.paymentMethodId }) },
          CANCEL: { target: 'canceling' },
        },
      },
      active: {
        initial: 'charging',
        states: {
          charging: {
            invoke: {
              src: 'chargePayment',
              input: ({ context }) => ({ customerId: context.customerId }),
              onDone: { target: 'paid', actions: ['recordPayment', 'followUpApplied'] },
            },
          },
          paid: {},
        },
        on: { CANCEL: { target: 'canceling' } },
      },
      canceling: {
        invoke: { src: 'sendEmail', input: ({ context }) => ({ customerId: context.customerId }), onDone: { target: 'canceled' } },
      },
      canceled: { type: 'final' },
    },
  });
}
