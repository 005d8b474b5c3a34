/**
 * Payout lifecycle: large payouts go through compliance review first; transfers are retried on a timer a
 * bounded number of times.
 *
 * Contract (state values as XState writes them; every pair not listed is illegal):
 *
 * | state | event | goes to | effects |
 * |---|---|---|---|
 * | `requested` | `SUBMIT` when `amountCents >= context.reviewThresholdCents` (guard `needsReview`) | `{review:'pending'}` | one `notifyCompliance {reason:'review_requested'}` |
 * | `requested` | `SUBMIT` otherwise | `processing` | one `transferFunds` (attempt 1) |
 * | `{review:'pending'}` | `ESCALATE {reason?}` | `{review:'escalated'}` | one `notifyCompliance {reason:'escalated'}` |
 * | `{review:'pending'}` | review window ends (`after` `reviewTimeout` = `context.reviewTimeoutMs`, default 2 days) | `{review:'escalated'}` | one `notifyCompliance {reason:'review_timeout'}` |
 * | `review.*` | `APPROVE {reviewerId}` | `processing` | one `transferFunds` (attempt 1) |
 * | `review.*` | `REJECT {reviewerId, reason}` | `rejected` (final) | one `sendEmail {template:'payout_rejected'}` |
 * | `processing` | `TRANSFER_SUCCEEDED {transferId?}` | `paid` (final) | one `sendEmail {template:'payout_paid'}` |
 * | `processing` | `TRANSFER_FAILED {reason?}` when `attempts < maxAttempts` (guard `canRetry`) | `retrying` | none |
 * | `processing` | `TRANSFER_FAILED` otherwise | `failed` (final) | one `sendEmail {template:'payout_failed'}` |
 * | `retrying` | retry delay ends (`after` `retryDelay` = `context.retryDelayMs`, default 1 min) | `processing` | one `transferFunds` (next attempt) |
 *
 * `transferFunds` is the entry action of `processing`, so every way in (first try or retry) sends exactly one
 * transfer and counts the attempt; its params carry the attempt number.
 */
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { defineMachine } from '../src/engine/definition.ts';
import { MAX_TIMER_DELAY_MS } from '../src/engine/timer-delay.ts';

const MINUTE_MS = 60 * 1000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Default amount from which a payout needs compliance review ($10,000). */
export const DEFAULT_REVIEW_THRESHOLD_CENTS = 1_000_000;
/** Default number of transfer attempts before the payout fails. */
export const DEFAULT_MAX_ATTEMPTS = 3;
/** Default wait between a failed transfer and the next attempt. */
export const DEFAULT_RETRY_DELAY_MS = MINUTE_MS;
/** Default time a review may stay pending before it escalates. */
export const DEFAULT_REVIEW_TIMEOUT_MS = 2 * DAY_MS;

const positiveInt = z.number().int().positive();
// A delay whose due time could not be stored is refused at create, naming the field.
const delayMs = positiveInt.max(MAX_TIMER_DELAY_MS);

/** Schema of `create`'s input. */
export const payoutInput = z.strictObject({
  payoutId: z.string().min(1),
  customerId: z.string().min(1),
  amountCents: positiveInt,
  reviewThresholdCents: positiveInt.optional(),
  maxAttempts: positiveInt.optional(),
  retryDelayMs: delayMs.optional(),
  reviewTimeoutMs: delayMs.optional(),
});

/** Payload schema (without `type`) of every event a caller may send. */
export const payoutEvents = {
  SUBMIT: z.strictObject({}),
  APPROVE: z.strictObject({ reviewerId: z.string().min(1) }),
  ESCALATE: z.strictObject({ reason: z.string().optional() }),
  REJECT: z.strictObject({ reviewerId: z.string().min(1), reason: z.string().min(1) }),
  TRANSFER_SUCCEEDED: z.strictObject({ transferId: z.string().optional() }),
  TRANSFER_FAILED: z.strictObject({ reason: z.string().optional() }),
};

export type PayoutInput = z.input<typeof payoutInput>;

// zod infers `z.strictObject({})` as Record<string, never>, which would make `{ type } & payload` uninhabitable.
type Payload<S extends z.ZodType> = string extends keyof z.output<S> ? unknown : z.output<S>;
type EventSchemas = typeof payoutEvents;
export type PayoutEvent = { [K in keyof EventSchemas]: { type: K } & Payload<EventSchemas[K]> }[keyof EventSchemas];

export interface PayoutContext {
  payoutId: string;
  customerId: string;
  amountCents: number;
  reviewThresholdCents: number;
  maxAttempts: number;
  retryDelayMs: number;
  reviewTimeoutMs: number;
  /** Transfers sent so far. */
  attempts: number;
  reviewerId: string | null;
  transferId: string | null;
  lastError: string | null;
}

export interface TransferFundsParams {
  payoutId: string;
  customerId: string;
  amountCents: number;
  attempt: number;
}

export interface NotifyComplianceParams {
  payoutId: string;
  amountCents: number;
  reason: 'review_requested' | 'escalated' | 'review_timeout';
}

export type PayoutEmailTemplate = 'payout_rejected' | 'payout_paid' | 'payout_failed';

export interface PayoutEmailParams {
  customerId: string;
  template: PayoutEmailTemplate;
  payoutId: string;
}

const email = (template: PayoutEmailTemplate) =>
  ({
    type: 'sendEmail',
    params: ({ context }: { context: PayoutContext }): PayoutEmailParams => ({
      customerId: context.customerId,
      template,
      payoutId: context.payoutId,
    }),
  }) as const;

const notifyCompliance = (reason: NotifyComplianceParams['reason']) =>
  ({
    type: 'notifyCompliance',
    params: ({ context }: { context: PayoutContext }): NotifyComplianceParams => ({
      payoutId: context.payoutId,
      amountCents: context.amountCents,
      reason,
    }),
  }) as const;

const approve = { target: '#payout.processing', actions: 'recordReviewer' } as const;

export const payoutMachine = setup({
  types: {
    context: {} as PayoutContext,
    events: {} as PayoutEvent,
    input: {} as PayoutInput,
    meta: {} as { maxDwell?: number },
  },
  actions: {
    transferFunds: (_, _params: TransferFundsParams) => {},
    notifyCompliance: (_, _params: NotifyComplianceParams) => {},
    sendEmail: (_, _params: PayoutEmailParams) => {},
    recordReviewer: assign({
      reviewerId: ({ context, event }) =>
        event.type === 'APPROVE' || event.type === 'REJECT' ? event.reviewerId : context.reviewerId,
    }),
    recordError: assign({
      lastError: ({ context, event }) =>
        event.type === 'TRANSFER_FAILED' ? (event.reason ?? null) : context.lastError,
    }),
  },
  guards: {
    needsReview: ({ context }) => context.amountCents >= context.reviewThresholdCents,
    canRetry: ({ context }) => context.attempts < context.maxAttempts,
  },
  delays: {
    retryDelay: ({ context }) => context.retryDelayMs,
    reviewTimeout: ({ context }) => context.reviewTimeoutMs,
  },
}).createMachine({
  id: 'payout',
  initial: 'requested',
  context: ({ input }) => ({
    payoutId: input.payoutId,
    customerId: input.customerId,
    amountCents: input.amountCents,
    reviewThresholdCents: input.reviewThresholdCents ?? DEFAULT_REVIEW_THRESHOLD_CENTS,
    maxAttempts: input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryDelayMs: input.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
    reviewTimeoutMs: input.reviewTimeoutMs ?? DEFAULT_REVIEW_TIMEOUT_MS,
    attempts: 0,
    reviewerId: null,
    transferId: null,
    lastError: null,
  }),
  states: {
    requested: {
      on: {
        SUBMIT: [
          { guard: 'needsReview', target: 'review', actions: notifyCompliance('review_requested') },
          { target: 'processing' },
        ],
      },
    },
    review: {
      initial: 'pending',
      on: {
        REJECT: {
          target: 'rejected',
          actions: ['recordReviewer', email('payout_rejected')],
        },
      },
      states: {
        pending: {
          meta: { maxDwell: DEFAULT_REVIEW_TIMEOUT_MS + HOUR_MS },
          after: {
            reviewTimeout: { target: 'escalated', actions: notifyCompliance('review_timeout') },
          },
          on: {
            ESCALATE: { target: 'escalated', actions: notifyCompliance('escalated') },
            APPROVE: approve,
          },
        },
        escalated: {
          meta: { maxDwell: 3 * DAY_MS },
          on: { APPROVE: approve },
        },
      },
    },
    processing: {
      meta: { maxDwell: HOUR_MS },
      // assign first: the transfer carries the attempt it is.
      entry: [
        assign({ attempts: ({ context }) => context.attempts + 1 }),
        {
          type: 'transferFunds',
          params: ({ context }) => ({
            payoutId: context.payoutId,
            customerId: context.customerId,
            amountCents: context.amountCents,
            attempt: context.attempts,
          }),
        },
      ],
      on: {
        TRANSFER_SUCCEEDED: {
          target: 'paid',
          actions: [assign({ transferId: ({ event }) => event.transferId ?? null }), email('payout_paid')],
        },
        TRANSFER_FAILED: [
          { guard: 'canRetry', target: 'retrying', actions: 'recordError' },
          { target: 'failed', actions: ['recordError', email('payout_failed')] },
        ],
      },
    },
    retrying: {
      after: { retryDelay: { target: 'processing' } },
    },
    paid: { type: 'final' },
    rejected: { type: 'final' },
    failed: { type: 'final' },
  },
});

export const payout = defineMachine({
  machine: payoutMachine,
  version: 1,
  input: payoutInput,
  events: payoutEvents,
  compensations: { transferFunds: 'TRANSFER_FAILED' },
  description: 'Payout: compliance review above a threshold, bounded transfer retries.',
  pathTesting: [
    // Context is bounded (attempts <= maxAttempts): the default identity (value + context) walks every retry.
    { input: { payoutId: 'p1', customerId: 'c1', amountCents: 5000 } },
    {
      input: { payoutId: 'p2', customerId: 'c1', amountCents: 2_000_000, maxAttempts: 2 },
      events: { APPROVE: { reviewerId: 'rev_1' }, REJECT: { reviewerId: 'rev_1', reason: 'kyc' } },
    },
  ],
});
