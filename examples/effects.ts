import { createTollgate, RetryableError, TerminalError } from '../src/index.ts';
import { startProcesses } from '../workers/index.ts';
import { subscription } from '../machines/index.ts';

// A stand-in payment provider that honours idempotency keys, as real ones do: the same key charges once.
const charges = new Map<string, { id: string; amountCents: number }>();
const payments = {
  async charge(request: { amountCents: number; idempotencyKey: string }) {
    const charge = charges.get(request.idempotencyKey) ?? { id: `ch_${charges.size + 1}`, amountCents: request.amountCents };
    charges.set(request.idempotencyKey, charge);
    return { ...charge, declined: request.amountCents > 100_000, unavailable: false };
  },
};

const tg = await createTollgate({ machines: { subscription }, database: { dataDir: process.env.EXAMPLE_DATA_DIR ?? './.tollgate/effects' } });
await tg.migrate();
tg.effect('chargePayment', async (ctx) => {
  // ctx: effectId, type, params, machine, entityId, transitionId, attempt, signal (aborted on shutdown), entity()
  const amountCents = Number(ctx.params.amountCents);
  const charge = await payments.charge({ amountCents, idempotencyKey: ctx.effectId });
  if (charge.declined) throw new TerminalError('card declined'); // no retry; the machine's compensation is sent
  if (charge.unavailable) throw new RetryableError('provider down', { retryAfterMs: 5_000 });
  return { result: { chargeId: charge.id }, event: { type: 'PAYMENT_SUCCEEDED', chargeId: charge.id } }; // through the gate
}, { attempts: 5, backoffMs: 1_000 });
tg.effect('sendEmail', () => {}); // a real one would call the email provider with ctx.effectId as message id

// In production: { transport: 'bullmq', redisUrl: process.env.REDIS_URL }, in its own process (tollgate worker).
const processes = await startProcesses(tg, { transport: 'in-process' });

const id = `sub-${Date.now()}`;
await tg.create('subscription', id, { customerId: 'cus_42', plan: 'pro' });
await tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm_visa' }, { idempotencyKey: 'req-1' });
while ((await tg.get('subscription', id)).context.payments === 0) await new Promise((r) => setTimeout(r, 50));

for (const effect of await tg.effects('subscription', id)) console.log(effect.type, effect.status, JSON.stringify(effect.result));
console.log((await tg.history('subscription', id)).map((t) => `${t.seq} ${t.eventType}${t.actor ? ` by ${t.actor}` : ''}`));
await processes.stop();
await tg.close();
