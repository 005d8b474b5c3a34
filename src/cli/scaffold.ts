/** The files `tollgate init` writes, by path: a small app with one machine, its handlers and its path test. */
export const scaffold: Readonly<Record<string, string>> = {
  'tollgate.config.mjs': `// @ts-check
// Read by every tollgate command in this directory (npx tollgate dev, worker, migrate, machines, ...).
// Flags and environment variables (DATABASE_URL, REDIS_URL, ...) override it.
import { defineConfig } from 'tollgate';
import { registerHandlers } from './handlers.mjs';
import { machines } from './machines/index.mjs';

export default defineConfig({
  machines,
  handlers: registerHandlers,
  database: { dataDir: './.tollgate' },
});
`,
  'machines/index.mjs': `// @ts-check
import { invoice } from './invoice.mjs';

/** The app's machines by name. */
export const machines = { invoice };
`,
  'machines/invoice.mjs': `// @ts-check
/**
 * Invoice lifecycle. Contract (every pair not listed is illegal):
 *
 * | state   | event                        | goes to        | effects                                  |
 * |---------|------------------------------|----------------|------------------------------------------|
 * | draft   | SEND {email}                 | sent           | one sendInvoice {email, amountCents}     |
 * | draft   | VOID {reason?}               | void (final)   | none                                     |
 * | sent    | PAYMENT_RECEIVED {paymentId} | paid (final)   | one sendReceipt {email, paymentId}       |
 * | sent    | VOID {reason?}               | void (final)   | none                                     |
 */
import { defineMachine } from 'tollgate';
import { assign, setup } from 'xstate';
import { z } from 'zod';

const invoiceMachine = setup({
  types: {
    context: /** @type {{ amountCents: number, email: string | null }} */ ({}),
    events: /** @type {{ type: 'SEND', email: string } | { type: 'VOID', reason?: string } | { type: 'PAYMENT_RECEIVED', paymentId: string }} */ ({}),
    input: /** @type {{ amountCents: number }} */ ({}),
  },
  actions: {
    // Custom actions are effects: tollgate writes them to its outbox and a handler (handlers.mjs) runs them.
    sendInvoice: (_, /** @type {{ email: string, amountCents: number }} */ _params) => {},
    sendReceipt: (_, /** @type {{ email: string, paymentId: string }} */ _params) => {},
  },
}).createMachine({
  id: 'invoice',
  initial: 'draft',
  context: ({ input }) => ({ amountCents: input.amountCents, email: null }),
  states: {
    draft: {
      on: {
        SEND: {
          target: 'sent',
          actions: [
            assign({ email: ({ event }) => event.email }),
            { type: 'sendInvoice', params: ({ event, context }) => ({ email: event.email, amountCents: context.amountCents }) },
          ],
        },
        VOID: 'void',
      },
    },
    sent: {
      on: {
        PAYMENT_RECEIVED: {
          target: 'paid',
          actions: { type: 'sendReceipt', params: ({ event, context }) => ({ email: context.email ?? '', paymentId: event.paymentId }) },
        },
        VOID: 'void',
      },
    },
    paid: { type: 'final' },
    void: { type: 'final' },
  },
});

export const invoice = defineMachine({
  machine: invoiceMachine,
  version: 1,
  description: 'Invoice: draft, sent, paid or void.',
  input: z.strictObject({ amountCents: z.number().int().positive() }),
  events: {
    SEND: z.strictObject({ email: z.string().email() }),
    VOID: z.strictObject({ reason: z.string().optional() }),
    PAYMENT_RECEIVED: z.strictObject({ paymentId: z.string().min(1) }),
  },
});
`,
  'handlers.mjs': `// @ts-check
/**
 * The effect handlers: one per custom action of the machines. Each receives the effect id to pass to the outside
 * provider as its idempotency key, so a retried run cannot send twice.
 *
 * @param {import('tollgate').Tollgate<typeof import('./machines/index.mjs').machines>} tg
 */
export function registerHandlers(tg) {
  tg.effect('sendInvoice', async (ctx) => {
    console.log(\`send invoice \${ctx.entityId} to \${ctx.params.email} for \${ctx.params.amountCents} cents (key \${ctx.effectId})\`);
    return { result: { sent: true } };
  });
  tg.effect('sendReceipt', async (ctx) => {
    console.log(\`send receipt for \${ctx.params.paymentId} to \${ctx.params.email} (key \${ctx.effectId})\`);
  });
}
`,
  'test/invoice.paths.test.mjs': `// Path tests: every state of the invoice machine reached through the real runtime (an in-memory database),
// each step checked against XState, and every event each state must refuse. Run: node --test
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTollgate } from 'tollgate';
import { pathTests } from 'tollgate/testing';
import { machines } from '../machines/index.mjs';

test('invoice: every path behaves as the machine says', async () => {
  const suite = pathTests(machines.invoice, {
    name: 'invoice',
    input: { amountCents: 12_000 },
    events: { SEND: { email: 'ada@example.com' }, PAYMENT_RECEIVED: { paymentId: 'pay_1' }, VOID: {} },
  });
  const tg = await createTollgate({ machines, database: { dataDir: 'memory://' } });
  try {
    await tg.migrate();
    const results = await suite.runAll(tg);
    assert.ok(results.length >= 3, 'one path per reachable state');
  } finally {
    await tg.close();
  }
});
`,
};
