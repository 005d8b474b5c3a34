/**
 * Demo effect handlers for the flagship machines: a fake payment provider that declines a configurable share of
 * charges, and an email sink. Both write to tables (`demo_charges`, `demo_emails`, in the runtime's schema, created
 * by the demo itself: `tollgate migrate` makes none) keyed by the idempotency key
 * tollgate hands the handler (the effect id), the way a real provider honours an idempotency key: a retried call
 * returns the stored result instead of charging again. Each row counts its calls, so tests and the demo can
 * count doubles: two rows for one business action is a double charge; `calls > 1` is a retried call.
 */
import { createHash } from 'node:crypto';
import { TerminalError } from '../src/effects/errors.ts';
import type { EffectContext } from '../src/effects/registry.ts';
import type { Tollgate } from '../src/runtime/create-tollgate.ts';
import type { machines } from './index.ts';
import { quoteIdent } from '../src/store/sql-client.ts';
import { portsOf } from '../src/runtime/ports.ts';

/** Options of the demo handlers. */
export interface DemoHandlerOptions {
  /** Share of charges the fake provider declines, 0 to 1. Decided per effect id, so a retry gets the same answer. Default 0. */
  readonly failureRate?: number;
  /** Varies which charges are declined. Default 1. */
  readonly seed?: number;
  /** Effect types to leave to the caller's own handlers (each type takes one handler). Default: none. */
  readonly except?: readonly string[];
}

/**
 * Registers the demo handlers on `tg`: `chargePayment` and `capturePayment` (fake provider; a success answers
 * `PAYMENT_SUCCEEDED` for subscriptions, a decline is a TerminalError, so the machine's compensation
 * `PAYMENT_FAILED` is sent), `refundPayment` (answers `REFUND_SUCCEEDED`), `transferFunds` (answers
 * `TRANSFER_SUCCEEDED`, or fails terminally at the failure rate), and `sendEmail`, `issueInvoice`,
 * `notifyCompliance`, `alertOps` (recorded in the email sink).
 *
 * @example
 * registerDemoHandlers(tg, { failureRate: 0.1 });
 * await startProcesses(tg, { transport: 'in-process' });
 */
export function registerDemoHandlers(tg: Tollgate<typeof machines>, options: DemoHandlerOptions = {}): void {
  const failureRate = options.failureRate ?? 0;
  if (!(failureRate >= 0 && failureRate <= 1)) throw new RangeError(`registerDemoHandlers: failureRate must be from 0 to 1, got ${failureRate}`);
  const seed = options.seed ?? 1;
  const except = new Set(options.except ?? []);
  const effect: typeof tg.effect = (type, handler, opts) => {
    if (!except.has(type)) tg.effect(type, handler, opts);
  };
  const { client, schema } = portsOf(tg).database;
  const s = quoteIdent(schema);
  // Started now, awaited by every handler: the tables exist before a handler writes, and usually before a test reads.
  // A failure (the database not migrated yet) is retried by the next handler run.
  let made: Promise<void> | undefined;
  const tables = () =>
    (made ??= createDemoTables(tg).catch((error: unknown) => {
      made = undefined;
      throw error;
    }));
  tables().catch(() => {});
  const declines = (key: string) => createHash('sha256').update(`${seed}:${key}`).digest().readUInt32BE(0) / 2 ** 32 < failureRate;

  /** The provider: one charge per idempotency key, whatever the number of calls. */
  const charge = async (ctx: EffectContext<unknown>, customerId: string, amountCents: number) => {
    await tables();
    const [row] = await client.query<{ status: string }>(
      `INSERT INTO ${s}.demo_charges (idempotency_key, customer_id, amount_cents, status)
       VALUES ($1::text, $2::text, $3::int, $4::text)
       ON CONFLICT (idempotency_key) DO UPDATE SET calls = ${s}.demo_charges.calls + 1
       RETURNING status`,
      [ctx.effectId, customerId, amountCents, declines(ctx.effectId) ? 'declined' : 'succeeded'],
    );
    if (row?.status !== 'succeeded') throw new TerminalError(`card declined for ${customerId} (charge ${ctx.effectId})`);
    return ctx.effectId;
  };
  const sink = async (ctx: EffectContext<unknown>, customerId: string, template: string) => {
    await tables();
    await client.query(
      `INSERT INTO ${s}.demo_emails (effect_id, customer_id, template) VALUES ($1::text, $2::text, $3::text)
       ON CONFLICT (effect_id) DO UPDATE SET calls = ${s}.demo_emails.calls + 1`,
      [ctx.effectId, customerId, template],
    );
  };
  const str = (v: unknown, fallback: string) => (typeof v === 'string' && v.length > 0 ? v : fallback);
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);

  effect('chargePayment', async (ctx) => {
    const chargeId = await charge(ctx, str(ctx.params.customerId, ctx.entityId), num(ctx.params.amountCents));
    return { result: { chargeId }, event: { type: 'PAYMENT_SUCCEEDED', chargeId } };
  });
  effect('capturePayment', async (ctx) => {
    const chargeId = await charge(ctx, str(ctx.params.orderId, ctx.entityId), num(ctx.params.amountCents));
    return { result: { chargeId } };
  });
  effect('refundPayment', async (ctx) => {
    await sink(ctx, str(ctx.params.orderId, ctx.entityId), 'refund');
    return { result: { refunded: true }, event: { type: 'REFUND_SUCCEEDED' } };
  });
  effect('transferFunds', async (ctx) => {
    if (declines(ctx.effectId)) throw new TerminalError(`transfer rejected by the bank (transfer ${ctx.effectId})`);
    await sink(ctx, ctx.entityId, 'transfer');
    return { result: { transferId: ctx.effectId }, event: { type: 'TRANSFER_SUCCEEDED', transferId: ctx.effectId } };
  });
  effect('sendEmail', async (ctx) => {
    await sink(ctx, str(ctx.params.customerId, ctx.entityId), str(ctx.params.template, 'unknown'));
    return { result: { delivered: true } };
  });
  for (const type of ['issueInvoice', 'notifyCompliance', 'alertOps'] as const) {
    effect(type, async (ctx) => {
      await sink(ctx, str((ctx.params as { customerId?: unknown }).customerId, ctx.entityId), type);
      return { result: { recorded: true } };
    });
  }
}

/**
 * Creates the demo's tables in the runtime's schema when they are missing. The demo owns them: they are not part of
 * tollgate's migrations. Safe from several processes at once (one advisory lock per schema).
 */
export async function createDemoTables(tg: Tollgate): Promise<void> {
  const { client, schema } = portsOf(tg).database;
  const s = quoteIdent(schema);
  await client.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tollgate.demo-tables.${schema}`]);
    // Before tollgate's own migrations, its early ones would still create (then drop) these tables: wait for them.
    const [migrated] = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename = '__migrations'`,
      [schema],
    );
    const done = migrated?.n ? await tx.query(`SELECT 1 FROM ${s}.__migrations WHERE tag = '0009_drop_empty_demo_tables'`) : [];
    if (done.length === 0) throw new Error(`the demo tables wait for tollgate's migrations in schema ${schema}: run tollgate migrate (tg.migrate()) first`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${s}.demo_charges (
         idempotency_key text PRIMARY KEY, customer_id text NOT NULL, amount_cents integer NOT NULL, status text NOT NULL,
         calls integer NOT NULL DEFAULT 1, created_at timestamptz NOT NULL DEFAULT now())`,
    );
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${s}.demo_emails (
         effect_id text PRIMARY KEY, customer_id text NOT NULL, template text NOT NULL,
         calls integer NOT NULL DEFAULT 1, created_at timestamptz NOT NULL DEFAULT now())`,
    );
    await tx.query(`CREATE INDEX IF NOT EXISTS demo_emails_customer_idx ON ${s}.demo_emails (customer_id, template)`);
  });
}
