// Type-level tests, checked by `npm run typecheck` (tsc), not run by vitest: each @ts-expect-error must stay an
// error, so if the machine's event types stop flowing into send() and create(), the typecheck fails.
import type { Tollgate } from '../../src/index.ts';
import type { machines } from '../../machines/index.ts';

export async function sendTyping(tg: Tollgate<typeof machines>): Promise<void> {
  await tg.send('subscription', 's', { type: 'UPGRADE', paymentMethodId: 'pm' });
  await tg.send('subscription', 's', { type: 'RENEW' });
  await tg.send('order', 'o', { type: 'PAY', paymentId: 'p', amountCents: 1 });
  // @ts-expect-error UPGRADE needs paymentMethodId
  await tg.send('subscription', 's', { type: 'UPGRADE' });
  // @ts-expect-error not an event of subscription
  await tg.send('subscription', 's', { type: 'SHIP', trackingId: 't' });
  // @ts-expect-error not a registered machine
  await tg.send('invoice', 'i', { type: 'RENEW' });
  await tg.create('subscription', 's', { customerId: 'c', plan: 'pro' });
  // @ts-expect-error create input needs customerId
  await tg.create('subscription', 's', { plan: 'pro' });
}
