import { beforeAll, describe, expect, it } from 'vitest';
import type { Tollgate } from '../../src/index.ts';
import type { machines } from '../../machines/index.ts';
import { backends } from '../support/databases.ts';
import { footprint, subscriptionRuntime } from '../support/subscriptions.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

type Tg = Tollgate<typeof machines>;
const effectTypes = async (tg: Tg, machine: 'order' | 'payout', id: string) => (await tg.effects(machine, id)).map((e) => e.type);

describe.each(backends())('order and payout through the runtime on %s', (backend) => {
  let tg: Tg;
  beforeAll(async () => {
    ({ tg } = await subscriptionRuntime(backend));
  });

  it('order: paid, parallel shipment and invoicing, completed', async () => {
    await tg.create('order', 'o1', { orderId: 'o1', customerId: 'c1', amountCents: 5000 });
    await tg.send('order', 'o1', { type: 'PAY', paymentId: 'pay_1', amountCents: 5000 });
    const paid = await tg.get('order', 'o1');
    expect(paid.value).toEqual({ paid: { shipment: 'awaiting', invoicing: 'draft' } });
    expect(paid.state).toBe('paid.invoicing.draft,paid.shipment.awaiting');
    await tg.send('order', 'o1', { type: 'SHIP', trackingId: 'trk' });
    await tg.send('order', 'o1', { type: 'INVOICE' });
    const done = await tg.send('order', 'o1', { type: 'DELIVER' });
    expect(done.entity).toMatchObject({ value: 'completed', status: 'done', nextEvents: [] });
    expect(await effectTypes(tg, 'order', 'o1')).toContain('issueInvoice');
  });

  it('order: cancelling a paid order emits a refund (compensation path)', async () => {
    await tg.create('order', 'o2', { orderId: 'o2', customerId: 'c1', amountCents: 700 });
    await tg.send('order', 'o2', { type: 'PAY', paymentId: 'pay_2', amountCents: 700 });
    const cancel = await tg.send('order', 'o2', { type: 'CANCEL' });
    expect(cancel.entity.value).toBe('refunding');
    const refunds = (await tg.effects('order', 'o2')).filter((e) => e.type === 'refundPayment');
    expect(refunds).toHaveLength(1);
    expect(refunds[0]?.params).toMatchObject({ amountCents: 700 });
    await tg.send('order', 'o2', { type: 'REFUND_SUCCEEDED' });
    expect((await tg.get('order', 'o2')).value).toBe('canceled');
  });

  it('order: an underpayment is TG_GUARD_REJECTED, a cancel after shipment is illegal; neither writes', async () => {
    await tg.create('order', 'o3', { orderId: 'o3', customerId: 'c1', amountCents: 900 });
    const before = await footprint(tg, 'order', 'o3');
    await expect(tg.send('order', 'o3', { type: 'PAY', paymentId: 'p', amountCents: 100 })).rejects.toMatchObject({ code: 'TG_GUARD_REJECTED' });
    expect(await footprint(tg, 'order', 'o3')).toEqual(before);
    await tg.send('order', 'o3', { type: 'PAY', paymentId: 'p', amountCents: 900 });
    await tg.send('order', 'o3', { type: 'SHIP', trackingId: 't' });
    const shipped = await footprint(tg, 'order', 'o3');
    await expect(tg.send('order', 'o3', { type: 'CANCEL' })).rejects.toMatchObject({ code: 'TG_ILLEGAL_TRANSITION' });
    expect(await footprint(tg, 'order', 'o3')).toEqual(shipped);
    expect((await tg.rejections('order', 'o3')).map((r) => r.code)).toEqual(['TG_GUARD_REJECTED', 'TG_ILLEGAL_TRANSITION']);
  });

  it('payout: small amount goes straight to processing, retries, then pays', async () => {
    await tg.create('payout', 'p1', { payoutId: 'p1', customerId: 'c1', amountCents: 1000 });
    const submitted = await tg.send('payout', 'p1', { type: 'SUBMIT' });
    expect(submitted.entity.value).toBe('processing');
    await tg.send('payout', 'p1', { type: 'TRANSFER_FAILED' });
    expect((await tg.get('payout', 'p1')).value).toBe('retrying');
    const retry = (await tg.timers('payout', 'p1')).find((t) => t.status === 'scheduled');
    expect(retry?.eventType).toBe('xstate.after.retryDelay.payout.retrying');
    await testAccess(tg).send('payout', 'p1', { type: retry?.eventType }, { internal: true, firedTimerId: retry?.id, idempotencyKey: retry?.id });
    expect((await tg.get('payout', 'p1')).value).toBe('processing');
    await tg.send('payout', 'p1', { type: 'TRANSFER_SUCCEEDED' });
    expect((await tg.get('payout', 'p1')).value).toBe('paid');
    expect((await effectTypes(tg, 'payout', 'p1')).filter((t) => t === 'transferFunds')).toHaveLength(2);
  });

  it('payout: a large amount waits in compliance review; APPROVE before review is illegal', async () => {
    await tg.create('payout', 'p2', { payoutId: 'p2', customerId: 'c1', amountCents: 5_000_000 });
    await expect(tg.send('payout', 'p2', { type: 'APPROVE', reviewerId: 'r' })).rejects.toMatchObject({ code: 'TG_ILLEGAL_TRANSITION' });
    const submitted = await tg.send('payout', 'p2', { type: 'SUBMIT' });
    expect(submitted.entity.value).toEqual({ review: 'pending' });
    await tg.send('payout', 'p2', { type: 'APPROVE', reviewerId: 'r' });
    expect((await tg.get('payout', 'p2')).value).toBe('processing');
  });
});
