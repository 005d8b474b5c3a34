import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { machines } from '../../machines/index.ts';
import type { EventOf } from '../engine/definition.ts';
import { isTollgateError } from '../errors.ts';
import { createTollgate, type Tollgate } from '../runtime/create-tollgate.ts';
import type { DatabaseOptions } from '../runtime/options.ts';
import { quoteIdent } from '../store/sql-client.ts';

/** Options of the traffic demo. */
export interface DemoOptions {
  /** How many subscriptions to drive. Default 300. */
  readonly subscriptions?: number;
  /** Where to run. Default: a fresh embedded data directory, removed afterwards. */
  readonly database?: DatabaseOptions;
  /** Subscriptions driven at once. Default 16. */
  readonly concurrency?: number;
  /** Show a progress bar on stderr. Default true when stderr is a terminal. */
  readonly progress?: boolean;
  /** Receives the summary lines. Default console.log. */
  readonly print?: (line: string) => void;
}

/** What the demo counted; the integrity checks are true when nothing drifted. */
export interface DemoSummary {
  readonly subscriptions: number;
  readonly transitions: number;
  readonly rejected: Readonly<Record<string, number>>;
  readonly replays: number;
  readonly conflictRetries: number;
  readonly charges: number;
  readonly doubleCharges: number;
  readonly cancellationEmails: number;
  readonly doubleCancellationEmails: number;
  readonly graceCharged: number;
  readonly reactivatedWithoutPayment: number;
  readonly ok: boolean;
}

type Tg = Tollgate<typeof machines>;
type Event = EventOf<(typeof machines)['subscription']>;

/**
 * Drives subscriptions through their lifecycle the way real traffic does: every request delivered twice (a retry
 * after a timeout), two writers racing on the same account, and the seed's three bugs attempted on purpose (a
 * second dunning charge in grace, a reactivation without payment, a cancellation email for a closed account).
 * Ends with a summary a person can check against the database.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const count = options.subscriptions ?? 300;
  const print = options.print ?? ((line: string) => console.log(line));
  const tempDir = options.database ? undefined : mkdtempSync(join(tmpdir(), 'tollgate-demo-'));
  const database = options.database ?? { dataDir: tempDir as string };
  const tg = await createTollgate({ machines, database });
  const bar =
    (options.progress ?? process.stderr.isTTY)
      ? new cliProgress.SingleBar({ format: 'demo |{bar}| {value}/{total} subscriptions', stream: process.stderr }, cliProgress.Presets.shades_classic)
      : undefined;
  try {
    await tg.migrate();
    const run = `${Date.now().toString(36)}`;
    bar?.start(count, 0);
    let next = 0;
    await Promise.all(
      Array.from({ length: options.concurrency ?? 16 }, async () => {
        for (let i = next++; i < count; i = next++) {
          await drive(tg, `demo-${run}-${i}`, i);
          bar?.increment();
        }
      }),
    );
    bar?.stop();
    const summary = await summarize(tg, `demo-${run}-`, count);
    report(summary, print);
    return summary;
  } finally {
    bar?.stop();
    await tg.close();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}

/** One subscription's traffic. Rejections are expected (that is the point); anything uncoded is a bug. */
async function drive(tg: Tg, id: string, i: number): Promise<void> {
  const twice = async (event: Event, key: string) => {
    await Promise.all([attempt(tg.send('subscription', id, event, { idempotencyKey: key })), attempt(tg.send('subscription', id, event, { idempotencyKey: key }))]);
  };
  const input = { customerId: `cust-${i}`, plan: ['basic', 'pro', 'team'][i % 3] as string };
  await Promise.all([attempt(tg.create('subscription', id, input, { idempotencyKey: `create-${id}` })), attempt(tg.create('subscription', id, input, { idempotencyKey: `create-${id}` }))]);
  await twice({ type: 'UPGRADE', paymentMethodId: `pm-${i}` }, `upgrade-${id}`);
  await twice({ type: 'RENEW' }, `renew-1-${id}`);
  await twice({ type: 'PAYMENT_SUCCEEDED', chargeId: `ch-${i}-1` }, `paid-1-${id}`);
  switch (i % 3) {
    case 0: {
      // Dunning: the first failure enters grace; a second failure must not charge again (the seed's double charge).
      await twice({ type: 'PAYMENT_FAILED', reason: 'card_declined' }, `failed-1-${id}`);
      await attempt(tg.send('subscription', id, { type: 'PAYMENT_FAILED', reason: 'retry_declined' }, { idempotencyKey: `failed-2-${id}` }));
      // Two writers race: the payment webhook and the customer's cancel.
      await Promise.all([
        attempt(tg.send('subscription', id, { type: 'PAYMENT_SUCCEEDED', chargeId: `ch-${i}-2` }, { idempotencyKey: `paid-2-${id}` })),
        attempt(tg.send('subscription', id, { type: 'CANCEL' }, { idempotencyKey: `cancel-1-${id}` })),
      ]);
      break;
    }
    case 1: {
      // Pause, then try to come back without paying (the seed's reactivation without payment).
      await twice({ type: 'PAUSE' }, `pause-${id}`);
      await twice({ type: 'RESUME' }, `resume-${id}`);
      await attempt(tg.send('subscription', id, { type: 'RENEW' }, { idempotencyKey: `renew-2-${id}` }));
      await attempt(tg.send('subscription', id, { type: 'RESUME' }, { idempotencyKey: `resume-2-${id}` }));
      if (i % 2 === 0) await twice({ type: 'PAYMENT_SUCCEEDED', chargeId: `ch-${i}-3` }, `paid-3-${id}`);
      break;
    }
    default: {
      await twice({ type: 'CANCEL' }, `cancel-1-${id}`);
      break;
    }
  }
  // A late cancel from another system: the seed's cancellation email for an already-closed account.
  await twice({ type: 'CANCEL', reason: 'late_duplicate' }, `cancel-2-${id}`);
}

async function attempt(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (!isTollgateError(error)) throw error;
  }
}

async function summarize(tg: Tg, prefix: string, count: number): Promise<DemoSummary> {
  const s = quoteIdent(tg.internals.schema);
  const q = <T extends object>(text: string) => tg.internals.client.query<T>(text, [`${prefix}%`]);
  const [transitions] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.transitions WHERE entity_id LIKE $1`);
  const rejected = await q<{ code: string; n: number }>(`SELECT code, count(*)::int AS n FROM ${s}.rejections WHERE entity_id LIKE $1 GROUP BY code ORDER BY code`);
  const [charges] = await q<{ n: number; doubles: number; grace: number }>(`
    SELECT count(*)::int AS n,
      (SELECT count(*)::int FROM (SELECT 1 FROM ${s}.effects e JOIN ${s}.transitions t ON t.id = e.transition_id
         WHERE e.entity_id LIKE $1 AND e.type = 'chargePayment' GROUP BY e.entity_id, t.idempotency_key HAVING count(*) > 1) d) AS doubles,
      (SELECT count(*)::int FROM ${s}.effects e JOIN ${s}.transitions t ON t.id = e.transition_id
         WHERE e.entity_id LIKE $1 AND e.type = 'chargePayment' AND t.from_state = 'grace') AS grace
    FROM ${s}.effects WHERE entity_id LIKE $1 AND type = 'chargePayment'`);
  const [emails] = await q<{ n: number; doubles: number }>(`
    SELECT count(*)::int AS n,
      (SELECT count(*)::int FROM (SELECT entity_id FROM ${s}.effects WHERE entity_id LIKE $1 AND type = 'sendEmail'
         AND params->>'template' = 'cancellation' GROUP BY entity_id HAVING count(*) > 1) d) AS doubles
    FROM ${s}.effects WHERE entity_id LIKE $1 AND type = 'sendEmail' AND params->>'template' = 'cancellation'`);
  const [reactivated] = await q<{ n: number }>(`
    SELECT count(*)::int AS n FROM ${s}.transitions
    WHERE entity_id LIKE $1 AND from_state LIKE 'paused.%' AND to_state = 'active' AND event_type <> 'PAYMENT_SUCCEEDED'`);
  const metrics = await tg.metricsText();
  const sum = (name: string) =>
    [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce((total, m) => total + Number(m[1]), 0);
  const summary = {
    subscriptions: count,
    transitions: transitions?.n ?? 0,
    rejected: Object.fromEntries(rejected.map((r) => [r.code, r.n])),
    replays: sum('tollgate_idempotent_replays_total'),
    conflictRetries: sum('tollgate_conflict_retries_total'),
    charges: charges?.n ?? 0,
    doubleCharges: charges?.doubles ?? 0,
    graceCharged: charges?.grace ?? 0,
    cancellationEmails: emails?.n ?? 0,
    doubleCancellationEmails: emails?.doubles ?? 0,
    reactivatedWithoutPayment: reactivated?.n ?? 0,
  };
  return { ...summary, ok: summary.doubleCharges === 0 && summary.doubleCancellationEmails === 0 && summary.graceCharged === 0 && summary.reactivatedWithoutPayment === 0 };
}

function report(s: DemoSummary, print: (line: string) => void): void {
  const rejected = Object.entries(s.rejected).map(([code, n]) => `${code} ${n}`).join(', ') || 'none';
  print('');
  print(`tollgate demo: ${s.subscriptions} subscriptions, every request delivered twice, writers racing`);
  print(`  transitions committed ........ ${s.transitions}`);
  print(`  attempts rejected ............ ${rejected}`);
  print(`  duplicate deliveries replayed  ${s.replays}`);
  print(`  conflict retries ............. ${s.conflictRetries}`);
  print(`  charges written .............. ${s.charges} (per request key: ${s.doubleCharges} doubles; from grace: ${s.graceCharged})`);
  print(`  cancellation emails .......... ${s.cancellationEmails} (subscriptions with more than one: ${s.doubleCancellationEmails})`);
  print(`  paused -> active without payment: ${s.reactivatedWithoutPayment}`);
  print(s.ok ? '  integrity: OK, nothing drifted' : '  integrity: FAILED, see the counts above');
}
