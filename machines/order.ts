/**
 * Order lifecycle: payment, then shipment and invoicing in parallel, with a refund path when a paid order is
 * canceled before it ships.
 *
 * Contract (state values as XState writes them; `paid` is parallel, so its value is
 * `{paid:{shipment:…, invoicing:…}}` and one region moves per event; every pair not listed is illegal):
 *
 * | state | event | goes to | effects |
 * |---|---|---|---|
 * | `pending` | `PAY {paymentId, amountCents}` when `amountCents` equals the order total (guard `paysInFull`) | `paid` (`shipment.awaiting`, `invoicing.draft`) | one `capturePayment` |
 * | `pending` | `PAY` for another amount | stays (guard rejected) | none |
 * | `pending` | payment window ends (`after` `paymentTimeout` = `context.paymentTimeoutMs`, default 30 min) | `expired` (final) | one `sendEmail {template:'order_expired'}` |
 * | `pending` | `CANCEL` | `canceled` (final, nothing to refund) | one `sendEmail {template:'order_canceled'}` |
 * | `paid.shipment.awaiting` | `SHIP {trackingId}` | `paid.shipment.shipped` | one `sendEmail {template:'order_shipped'}` |
 * | `paid.shipment.awaiting` | `CANCEL` | `refunding` | one `refundPayment` |
 * | `paid.shipment.shipped` | `DELIVER` | `paid.shipment.delivered` (region done) | none |
 * | `paid.invoicing.draft` | `INVOICE` | `paid.invoicing.issued` (region done) | one `issueInvoice` |
 * | `paid` | both regions done (`onDone`, same step as the last region's event) | `completed` (final) | one `sendEmail {template:'order_completed'}` |
 * | `paid` (any region state) | `PAYMENT_FAILED` (compensation of `capturePayment`) | `payment_failed` (final) | one `sendEmail {template:'payment_failed'}` |
 * | `refunding` | `REFUND_SUCCEEDED` | `canceled` (final) | one `sendEmail {template:'order_refunded'}` |
 * | `refunding` | `REFUND_FAILED` (also the compensation of `refundPayment`) | `refund_failed` | one `alertOps` |
 * | `refund_failed` | `RETRY_REFUND` | `refunding` | one `refundPayment` |
 *
 * A failed refund waits in `refund_failed` for an operator (`RETRY_REFUND`) rather than retrying on a timer:
 * refunds fail for reasons (closed card, disputed charge) that a blind retry does not fix.
 * `CANCEL` after shipment is illegal: a shipped order is a return, not a cancellation.
 */
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { defineMachine } from '../src/engine/definition.ts';
import { MAX_TIMER_DELAY_MS } from '../src/engine/timer-delay.ts';

const MINUTE_MS = 60 * 1000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** Default time a pending order waits for payment. */
export const DEFAULT_PAYMENT_TIMEOUT_MS = 30 * MINUTE_MS;

const positiveInt = z.number().int().positive();
// A delay whose due time could not be stored is refused at create, naming the field.
const delayMs = positiveInt.max(MAX_TIMER_DELAY_MS);

/** Schema of `create`'s input. */
export const orderInput = z.strictObject({
  orderId: z.string().min(1),
  customerId: z.string().min(1),
  amountCents: positiveInt,
  paymentTimeoutMs: delayMs.optional(),
});

/** Payload schema (without `type`) of every event a caller may send. */
export const orderEvents = {
  PAY: z.strictObject({ paymentId: z.string().min(1), amountCents: positiveInt }),
  PAYMENT_FAILED: z.strictObject({ reason: z.string().optional() }),
  SHIP: z.strictObject({ trackingId: z.string().min(1) }),
  DELIVER: z.strictObject({}),
  INVOICE: z.strictObject({}),
  CANCEL: z.strictObject({ reason: z.string().optional() }),
  REFUND_SUCCEEDED: z.strictObject({ refundId: z.string().optional() }),
  REFUND_FAILED: z.strictObject({ reason: z.string().optional() }),
  RETRY_REFUND: z.strictObject({}),
};

export type OrderInput = z.input<typeof orderInput>;

// zod infers `z.strictObject({})` as Record<string, never>, which would make `{ type } & payload` uninhabitable.
type Payload<S extends z.ZodType> = string extends keyof z.output<S> ? unknown : z.output<S>;
type EventSchemas = typeof orderEvents;
export type OrderEvent = { [K in keyof EventSchemas]: { type: K } & Payload<EventSchemas[K]> }[keyof EventSchemas];

export interface OrderContext {
  orderId: string;
  customerId: string;
  amountCents: number;
  paymentTimeoutMs: number;
  paymentId: string | null;
  trackingId: string | null;
  /** Refunds requested so far (1 after the first CANCEL of a paid order). */
  refundAttempts: number;
  lastError: string | null;
}

export interface CapturePaymentParams {
  orderId: string;
  paymentId: string;
  amountCents: number;
}

export interface RefundPaymentParams {
  orderId: string;
  paymentId: string;
  amountCents: number;
}

export interface IssueInvoiceParams {
  orderId: string;
  customerId: string;
  amountCents: number;
}

export interface AlertOpsParams {
  orderId: string;
  alert: 'refund_failed';
  detail: string | null;
}

export type OrderEmailTemplate =
  | 'order_expired'
  | 'order_canceled'
  | 'order_shipped'
  | 'order_completed'
  | 'payment_failed'
  | 'order_refunded';

export interface OrderEmailParams {
  customerId: string;
  template: OrderEmailTemplate;
  orderId: string;
}

const email = (template: OrderEmailTemplate) =>
  ({
    type: 'sendEmail',
    params: ({ context }: { context: OrderContext }): OrderEmailParams => ({
      customerId: context.customerId,
      template,
      orderId: context.orderId,
    }),
  }) as const;

// Only reachable once PAY stored the payment id, so `?? ''` never shows up in an effect.
const refund = {
  type: 'refundPayment',
  params: ({ context }: { context: OrderContext }): RefundPaymentParams => ({
    orderId: context.orderId,
    paymentId: context.paymentId ?? '',
    amountCents: context.amountCents,
  }),
} as const;

export const orderMachine = setup({
  types: {
    context: {} as OrderContext,
    events: {} as OrderEvent,
    input: {} as OrderInput,
    meta: {} as { maxDwell?: number },
  },
  actions: {
    capturePayment: (_, _params: CapturePaymentParams) => {},
    refundPayment: (_, _params: RefundPaymentParams) => {},
    issueInvoice: (_, _params: IssueInvoiceParams) => {},
    alertOps: (_, _params: AlertOpsParams) => {},
    sendEmail: (_, _params: OrderEmailParams) => {},
    countRefund: assign({ refundAttempts: ({ context }) => context.refundAttempts + 1 }),
  },
  guards: {
    paysInFull: ({ context, event }) => event.type === 'PAY' && event.amountCents === context.amountCents,
  },
  delays: {
    paymentTimeout: ({ context }) => context.paymentTimeoutMs,
  },
}).createMachine({
  id: 'order',
  initial: 'pending',
  context: ({ input }) => ({
    orderId: input.orderId,
    customerId: input.customerId,
    amountCents: input.amountCents,
    paymentTimeoutMs: input.paymentTimeoutMs ?? DEFAULT_PAYMENT_TIMEOUT_MS,
    paymentId: null,
    trackingId: null,
    refundAttempts: 0,
    lastError: null,
  }),
  states: {
    pending: {
      after: {
        paymentTimeout: { target: 'expired', actions: email('order_expired') },
      },
      on: {
        PAY: {
          guard: 'paysInFull',
          target: 'paid',
          actions: [
            assign({ paymentId: ({ event }) => event.paymentId }),
            {
              type: 'capturePayment',
              params: ({ context, event }) => ({
                orderId: context.orderId,
                paymentId: event.paymentId,
                amountCents: context.amountCents,
              }),
            },
          ],
        },
        CANCEL: { target: 'canceled', actions: email('order_canceled') },
      },
    },
    paid: {
      type: 'parallel',
      meta: { maxDwell: 14 * DAY_MS },
      onDone: { target: 'completed', actions: email('order_completed') },
      on: {
        PAYMENT_FAILED: {
          target: 'payment_failed',
          actions: [assign({ lastError: ({ event }) => event.reason ?? null }), email('payment_failed')],
        },
      },
      states: {
        shipment: {
          initial: 'awaiting',
          states: {
            awaiting: {
              on: {
                SHIP: {
                  target: 'shipped',
                  actions: [assign({ trackingId: ({ event }) => event.trackingId }), email('order_shipped')],
                },
                CANCEL: { target: '#order.refunding', actions: ['countRefund', refund] },
              },
            },
            shipped: {
              on: { DELIVER: { target: 'delivered' } },
            },
            delivered: { type: 'final' },
          },
        },
        invoicing: {
          initial: 'draft',
          states: {
            draft: {
              on: {
                INVOICE: {
                  target: 'issued',
                  actions: {
                    type: 'issueInvoice',
                    params: ({ context }) => ({
                      orderId: context.orderId,
                      customerId: context.customerId,
                      amountCents: context.amountCents,
                    }),
                  },
                },
              },
            },
            issued: { type: 'final' },
          },
        },
      },
    },
    refunding: {
      meta: { maxDwell: DAY_MS },
      on: {
        REFUND_SUCCEEDED: { target: 'canceled', actions: email('order_refunded') },
        REFUND_FAILED: {
          target: 'refund_failed',
          actions: [
            assign({ lastError: ({ event }) => event.reason ?? null }),
            {
              type: 'alertOps',
              params: ({ context }) => ({
                orderId: context.orderId,
                alert: 'refund_failed',
                detail: context.lastError,
              }),
            },
          ],
        },
      },
    },
    refund_failed: {
      meta: { maxDwell: 3 * DAY_MS },
      on: {
        RETRY_REFUND: { target: 'refunding', actions: ['countRefund', refund] },
      },
    },
    canceled: { type: 'final' },
    expired: { type: 'final' },
    completed: { type: 'final' },
    payment_failed: { type: 'final' },
  },
});

export const order = defineMachine({
  machine: orderMachine,
  version: 1,
  input: orderInput,
  events: orderEvents,
  compensations: { capturePayment: 'PAYMENT_FAILED', refundPayment: 'REFUND_FAILED' },
  description: 'Order: payment, shipment and invoicing in parallel, refund on cancellation after payment.',
  pathTesting: {
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
    serializeState: (s) => JSON.stringify(s.value),
  },
});
