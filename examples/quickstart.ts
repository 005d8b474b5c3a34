import { createTollgate, isTollgateError } from '../src/index.ts';
import { machines } from '../machines/index.ts';

// Embedded mode: PGlite in ./.tollgate/quickstart (use { url: process.env.DATABASE_URL } for Postgres).
const tg = await createTollgate({ machines, database: { dataDir: process.env.QUICKSTART_DATA_DIR ?? './.tollgate/quickstart' } });
await tg.migrate();

const id = `sub-${Date.now()}`;
await tg.create('subscription', id, { customerId: 'cus_42', plan: 'pro' });
const upgraded = await tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm_visa' }, { idempotencyKey: 'req-1' });
console.log(upgraded.entity.state, upgraded.entity.nextEvents); // active [ 'RENEW', 'PAYMENT_SUCCEEDED', ... ]

// A retry of the same request is answered from the stored result: no second charge.
const retried = await tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm_visa' }, { idempotencyKey: 'req-1' });
console.log(retried.replayed, retried.transition.id === upgraded.transition.id); // true true

// An event the lifecycle forbids is refused with a coded error and writes nothing.
try {
  await tg.send('subscription', id, { type: 'RESUME' });
} catch (error) {
  if (isTollgateError(error, 'TG_ILLEGAL_TRANSITION')) console.log(error.code, error.message);
}

console.log(await tg.effects('subscription', id)); // one chargePayment, status 'pending' until a worker runs it
console.log((await tg.history('subscription', id)).map((t) => `${t.seq} ${t.eventType}: ${t.fromState ?? '-'} -> ${t.toState}`));
await tg.close();
