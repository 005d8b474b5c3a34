import { describe, expect, it } from 'vitest';
import {
  __unsafe_getAllOwnEventDescriptors,
  initialTransition,
  transition,
  type EventFromLogic,
  type SnapshotFrom,
} from 'xstate';
import { DEFAULT_PAYMENT_TIMEOUT_MS, order, orderMachine, type OrderInput } from '../../machines/order.ts';

type Snapshot = SnapshotFrom<typeof orderMachine>;
type Event = EventFromLogic<typeof orderMachine> | { type: typeof PAYMENT_TIMER };
interface Action {
  type: string;
  params?: unknown;
}

const PAYMENT_TIMER = 'xstate.after.paymentTimeout.order.pending';
const input: OrderInput = { orderId: 'ord_1', customerId: 'cus_1', amountCents: 4200, paymentTimeoutMs: 250 };

// Timer events are not in the machine's event union; xstate accepts them at runtime all the same.
const send = (snapshot: Snapshot, event: Event) =>
  transition(orderMachine, snapshot, event as EventFromLogic<typeof orderMachine>);

function run(...events: Event[]): [Snapshot, Action[]] {
  let [snapshot, actions]: [Snapshot, Action[]] = initialTransition(orderMachine, input);
  for (const event of events) [snapshot, actions] = send(snapshot, event);
  return [snapshot, actions];
}

const custom = (actions: Action[]) =>
  actions.filter((a) => !a.type.startsWith('xstate.')).map((a) => ({ type: a.type, params: a.params }));

const email = (template: string) => ({
  type: 'sendEmail',
  params: { customerId: 'cus_1', template, orderId: 'ord_1' },
});
// A delayed raise (a timer to store) and its cancellation, as transition() reports them.
const raised = (id: string, delay: number) =>
  expect.objectContaining({ type: 'xstate.raise', params: expect.objectContaining({ id, delay }) });
const cancelled = (id: string) => expect.objectContaining({ type: 'xstate.cancel', params: { sendId: id } });

const refund = { type: 'refundPayment', params: { orderId: 'ord_1', paymentId: 'pay_1', amountCents: 4200 } };

const pay = { type: 'PAY', paymentId: 'pay_1', amountCents: 4200 } as const;
const ship = { type: 'SHIP', trackingId: 'trk_1' } as const;

function expectIllegal(before: Snapshot, event: Event) {
  const [after, actions] = send(before, event);
  expect(after).toBe(before);
  expect(actions).toEqual([]);
  expect(__unsafe_getAllOwnEventDescriptors(before)).not.toContain(event.type);
}

describe('order: payment', () => {
  it('starts pending with a payment timer read from context', () => {
    const [snapshot, actions] = run();
    expect(snapshot.value).toBe('pending');
    expect(actions).toContainEqual(raised(PAYMENT_TIMER, 250));
    expect(initialTransition(orderMachine, { ...input, paymentTimeoutMs: undefined })[0].context.paymentTimeoutMs).toBe(
      DEFAULT_PAYMENT_TIMEOUT_MS,
    );
  });

  it('PAY in full captures the payment and opens both regions', () => {
    const [snapshot, actions] = run(pay);
    expect(snapshot.value).toEqual({ paid: { shipment: 'awaiting', invoicing: 'draft' } });
    expect(custom(actions)).toEqual([
      { type: 'capturePayment', params: { orderId: 'ord_1', paymentId: 'pay_1', amountCents: 4200 } },
    ]);
    expect(actions).toContainEqual(cancelled(PAYMENT_TIMER));
  });

  // Guard rejected, not illegal: PAY is accepted in pending, the guard refuses this amount.
  it('PAY for another amount is refused by the paysInFull guard', () => {
    const [pending] = run();
    const wrong = { ...pay, amountCents: 4199 };
    const [after, actions] = send(pending, wrong);
    expect(after).toBe(pending);
    expect(actions).toEqual([]);
    expect(__unsafe_getAllOwnEventDescriptors(pending)).toContain('PAY');
    expect(pending.can(wrong)).toBe(false);
  });

  it('expires when the payment window ends', () => {
    const [snapshot, actions] = run({ type: PAYMENT_TIMER });
    expect(snapshot.value).toBe('expired');
    expect(snapshot.status).toBe('done');
    expect(custom(actions)).toEqual([email('order_expired')]);
  });

  it('CANCEL before payment cancels with nothing to refund', () => {
    const [snapshot, actions] = run({ type: 'CANCEL' });
    expect(snapshot.value).toBe('canceled');
    expect(custom(actions)).toEqual([email('order_canceled')]);
  });

  it('a failed capture (compensation) ends in payment_failed from any region state', () => {
    const [snapshot, actions] = run(pay, ship, { type: 'PAYMENT_FAILED', reason: 'insufficient_funds' });
    expect(snapshot.value).toBe('payment_failed');
    expect(snapshot.context.lastError).toBe('insufficient_funds');
    expect(custom(actions)).toEqual([email('payment_failed')]);
  });
});

describe('order: parallel fulfilment', () => {
  it('each region moves on its own', () => {
    const [afterInvoice, invoiceActions] = run(pay, { type: 'INVOICE' });
    expect(afterInvoice.value).toEqual({ paid: { shipment: 'awaiting', invoicing: 'issued' } });
    expect(custom(invoiceActions)).toEqual([
      { type: 'issueInvoice', params: { orderId: 'ord_1', customerId: 'cus_1', amountCents: 4200 } },
    ]);

    const [afterShip, shipActions] = run(pay, ship);
    expect(afterShip.value).toEqual({ paid: { shipment: 'shipped', invoicing: 'draft' } });
    expect(afterShip.context.trackingId).toBe('trk_1');
    expect(custom(shipActions)).toEqual([email('order_shipped')]);
  });

  it('completes in the same step as the last region finishing (shipment last)', () => {
    const [delivered] = run(pay, ship, { type: 'DELIVER' });
    expect(delivered.value).toEqual({ paid: { shipment: 'delivered', invoicing: 'draft' } });

    const [snapshot, actions] = run(pay, { type: 'INVOICE' }, ship, { type: 'DELIVER' });
    expect(snapshot.value).toBe('completed');
    expect(snapshot.status).toBe('done');
    expect(custom(actions)).toEqual([email('order_completed')]);
  });

  it('completes in the same step as the last region finishing (invoicing last)', () => {
    const [snapshot, actions] = run(pay, ship, { type: 'DELIVER' }, { type: 'INVOICE' });
    expect(snapshot.value).toBe('completed');
    expect(custom(actions).map((a) => a.type)).toEqual(['issueInvoice', 'sendEmail']);
  });
});

describe('order: refund compensation', () => {
  it('CANCEL after payment, before shipment, refunds', () => {
    const [snapshot, actions] = run(pay, { type: 'INVOICE' }, { type: 'CANCEL' });
    expect(snapshot.value).toBe('refunding');
    expect(custom(actions)).toEqual([refund]);
  });

  it('a successful refund cancels the order', () => {
    const [snapshot, actions] = run(pay, { type: 'CANCEL' }, { type: 'REFUND_SUCCEEDED' });
    expect(snapshot.value).toBe('canceled');
    expect(snapshot.status).toBe('done');
    expect(custom(actions)).toEqual([email('order_refunded')]);
  });

  it('a failed refund waits for an operator, who can retry it', () => {
    const [failed, failedActions] = run(pay, { type: 'CANCEL' }, { type: 'REFUND_FAILED', reason: 'card_closed' });
    expect(failed.value).toBe('refund_failed');
    expect(custom(failedActions)).toEqual([
      { type: 'alertOps', params: { orderId: 'ord_1', alert: 'refund_failed', detail: 'card_closed' } },
    ]);

    const [retried, retryActions] = send(failed, { type: 'RETRY_REFUND' });
    expect(retried.value).toBe('refunding');
    expect(retried.context.refundAttempts).toBe(2);
    expect(custom(retryActions)).toEqual([refund]);
  });
});

describe('order: illegal events', () => {
  it('CANCEL after shipment', () => expectIllegal(run(pay, ship)[0], { type: 'CANCEL' }));
  it('SHIP before payment', () => expectIllegal(run()[0], ship));
  it('DELIVER before SHIP', () => expectIllegal(run(pay)[0], { type: 'DELIVER' }));
  it('INVOICE twice', () => expectIllegal(run(pay, { type: 'INVOICE' })[0], { type: 'INVOICE' }));
  it('PAYMENT_FAILED while refunding', () =>
    expectIllegal(run(pay, { type: 'CANCEL' })[0], { type: 'PAYMENT_FAILED' }));
  it('RETRY_REFUND while refunding', () => expectIllegal(run(pay, { type: 'CANCEL' })[0], { type: 'RETRY_REFUND' }));
  it('anything once completed', () => {
    const [completed] = run(pay, { type: 'INVOICE' }, ship, { type: 'DELIVER' });
    for (const event of [pay, { type: 'CANCEL' }, { type: 'REFUND_SUCCEEDED' }] as const) {
      expectIllegal(completed, event);
    }
  });
  it('a stale payment timer after payment', () => expectIllegal(run(pay)[0], { type: PAYMENT_TIMER }));
});

describe('order: definition', () => {
  it('compensation events are handled where their effect can fail', () => {
    expect(order.compensations).toEqual({ capturePayment: 'PAYMENT_FAILED', refundPayment: 'REFUND_FAILED' });
    expect(__unsafe_getAllOwnEventDescriptors(run(pay)[0])).toContain('PAYMENT_FAILED');
    expect(__unsafe_getAllOwnEventDescriptors(run(pay, { type: 'CANCEL' })[0])).toContain('REFUND_FAILED');
  });

  it('input and payloads are strict', () => {
    expect(order.input.safeParse(input).success).toBe(true);
    expect(order.input.safeParse({ ...input, amountCents: 0 }).success).toBe(false);
    expect(order.input.safeParse({ ...input, coupon: 'x' }).success).toBe(false);
    expect(order.events.PAY.safeParse({ paymentId: 'p', amountCents: 1 }).success).toBe(true);
    expect(order.events.DELIVER.safeParse({ trackingId: 't' }).success).toBe(false);
  });
});
