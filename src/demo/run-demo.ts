import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import type { MachineRegistry } from '../engine/definition.ts';
import { TollgateError } from '../errors.ts';
import { createTollgate } from '../runtime/create-tollgate.ts';
import type { DatabaseOptions } from '../runtime/options.ts';
import { runtimeTarget, type DemoAnswer, type DemoEvent, type DemoTarget } from './target.ts';

/** Options of the traffic demo. */
export interface DemoOptions {
  /**
   * The demo's machines (machines/index.ts in tollgate's repository): its traffic drives their `subscription`.
   * Required unless `target` is given.
   */
  readonly machines?: MachineRegistry;
  /** How many subscriptions to drive. Default 300. */
  readonly subscriptions?: number;
  /** Where to run: a database (embedded or Postgres), or a running server (`target`). Default: a fresh embedded data directory, removed afterwards. */
  readonly database?: DatabaseOptions;
  /** A running server to drive instead of a database of its own (see src/cli/demo-target.ts). */
  readonly target?: DemoTarget;
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
  /** Refused requests by code, as the target answered them. */
  readonly rejected: Readonly<Record<string, number>>;
  /** Requests answered from their idempotency key. */
  readonly replays: number;
  /** The gate's conflict retries (undefined when the target does not expose its metrics). */
  readonly conflictRetries: number | undefined;
  readonly charges: number;
  readonly doubleCharges: number;
  readonly cancellationEmails: number;
  readonly doubleCancellationEmails: number;
  readonly graceCharged: number;
  readonly reactivatedWithoutPayment: number;
  readonly ok: boolean;
}

/** Counts the answers of the traffic. */
interface Tally {
  readonly rejected: Map<string, number>;
  replays: number;
}

/**
 * Drives subscriptions through their lifecycle the way real traffic does: every request delivered twice (a retry
 * after a timeout), two writers racing on the same account, and the seed's three bugs attempted on purpose (a
 * second dunning charge in grace, a reactivation without payment, a cancellation email for a closed account).
 * Ends with a summary a person can check: read back from the entities' history and effects.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const count = options.subscriptions ?? 300;
  const print = options.print ?? ((line: string) => console.log(line));
  if (!options.target && !options.machines?.subscription) {
    throw new TollgateError('TG_INVALID_ARGUMENT', "runDemo: the demo drives the demo's `subscription` machine (machines/index.ts in tollgate's repository); pass those machines, or a target.");
  }
  const tempDir = options.target || options.database ? undefined : mkdtempSync(join(tmpdir(), 'tollgate-demo-'));
  const database = options.database ?? { dataDir: tempDir as string };
  const tg = options.target ? undefined : await createTollgate({ machines: options.machines as MachineRegistry, database });
  const bar =
    (options.progress ?? process.stderr.isTTY)
      ? new cliProgress.SingleBar({ format: 'demo |{bar}| {value}/{total} subscriptions', stream: process.stderr }, cliProgress.Presets.shades_classic)
      : undefined;
  try {
    await tg?.migrate();
    const target = options.target ?? runtimeTarget(tg as NonNullable<typeof tg>, 'url' in database ? 'Postgres' : `embedded PGlite`);
    const run = `${Date.now().toString(36)}`;
    const ids = Array.from({ length: count }, (_, i) => `demo-${run}-${i}`);
    const tally: Tally = { rejected: new Map(), replays: 0 };
    bar?.start(count, 0);
    let next = 0;
    await Promise.all(
      Array.from({ length: options.concurrency ?? 16 }, async () => {
        for (let i = next++; i < count; i = next++) {
          await drive(target, tally, ids[i] as string, i);
          bar?.increment();
        }
      }),
    );
    bar?.stop();
    const summary = await summarize(target, tally, ids);
    report(summary, target.where, print);
    return summary;
  } finally {
    bar?.stop();
    await tg?.close();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}

/** One subscription's traffic. Refusals are expected (that is the point) and counted by code. */
async function drive(target: DemoTarget, tally: Tally, id: string, i: number): Promise<void> {
  const count = async (request: Promise<DemoAnswer>) => {
    const answer = await request;
    if ('code' in answer) tally.rejected.set(answer.code, (tally.rejected.get(answer.code) ?? 0) + 1);
    else if (answer.replayed) tally.replays++;
  };
  const attempt = (event: DemoEvent, key: string) => count(target.send(id, event, key));
  const twice = (event: DemoEvent, key: string) => Promise.all([attempt(event, key), attempt(event, key)]);
  const input = { customerId: `cust-${i}`, plan: ['basic', 'pro', 'team'][i % 3] as string };
  await Promise.all([count(target.create(id, input, `create-${id}`)), count(target.create(id, input, `create-${id}`))]);
  await twice({ type: 'UPGRADE', paymentMethodId: `pm-${i}` }, `upgrade-${id}`);
  await twice({ type: 'RENEW' }, `renew-1-${id}`);
  await twice({ type: 'PAYMENT_SUCCEEDED', chargeId: `ch-${i}-1` }, `paid-1-${id}`);
  switch (i % 3) {
    case 0: {
      // Dunning: the first failure enters grace; a second failure must not charge again (the seed's double charge).
      await twice({ type: 'PAYMENT_FAILED', reason: 'card_declined' }, `failed-1-${id}`);
      await attempt({ type: 'PAYMENT_FAILED', reason: 'retry_declined' }, `failed-2-${id}`);
      // Two writers race: the payment webhook and the customer's cancel.
      await Promise.all([attempt({ type: 'PAYMENT_SUCCEEDED', chargeId: `ch-${i}-2` }, `paid-2-${id}`), attempt({ type: 'CANCEL' }, `cancel-1-${id}`)]);
      break;
    }
    case 1: {
      // Pause, then try to come back without paying (the seed's reactivation without payment).
      await twice({ type: 'PAUSE' }, `pause-${id}`);
      await twice({ type: 'RESUME' }, `resume-${id}`);
      await attempt({ type: 'RENEW' }, `renew-2-${id}`);
      await attempt({ type: 'RESUME' }, `resume-2-${id}`);
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

/** Reads every subscription's history and effects back and checks the seed's three stories never happened. */
async function summarize(target: DemoTarget, tally: Tally, ids: readonly string[]): Promise<DemoSummary> {
  let transitions = 0;
  let charges = 0;
  let doubleCharges = 0;
  let graceCharged = 0;
  let cancellationEmails = 0;
  let doubleCancellationEmails = 0;
  let reactivatedWithoutPayment = 0;
  let next = 0;
  const one = async (id: string) => {
    const [history, effects] = await Promise.all([target.history(id), target.effects(id)]);
    const byId = new Map(history.map((t) => [t.id, t]));
    transitions += history.length;
    reactivatedWithoutPayment += history.filter((t) => t.fromState?.startsWith('paused.') && t.toState === 'active' && t.eventType !== 'PAYMENT_SUCCEEDED').length;
    const chargeKeys = new Map<string, number>();
    for (const effect of effects) {
      const transition = byId.get(effect.transitionId);
      if (effect.type === 'chargePayment') {
        charges++;
        if (transition?.fromState === 'grace') graceCharged++;
        const key = transition?.idempotencyKey ?? transition?.id ?? effect.transitionId;
        chargeKeys.set(key, (chargeKeys.get(key) ?? 0) + 1);
      }
    }
    doubleCharges += [...chargeKeys.values()].filter((n) => n > 1).length;
    const emails = effects.filter((e) => e.type === 'sendEmail' && e.params.template === 'cancellation').length;
    cancellationEmails += emails;
    if (emails > 1) doubleCancellationEmails++;
  };
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < ids.length; i = next++) await one(ids[i] as string);
    }),
  );
  const summary = {
    subscriptions: ids.length,
    transitions,
    rejected: Object.fromEntries([...tally.rejected].sort(([a], [b]) => a.localeCompare(b))),
    replays: tally.replays,
    conflictRetries: await target.conflictRetries(),
    charges,
    doubleCharges,
    graceCharged,
    cancellationEmails,
    doubleCancellationEmails,
    reactivatedWithoutPayment,
  };
  return { ...summary, ok: doubleCharges === 0 && doubleCancellationEmails === 0 && graceCharged === 0 && reactivatedWithoutPayment === 0 };
}

function report(s: DemoSummary, where: string, print: (line: string) => void): void {
  const rejected = Object.entries(s.rejected).map(([code, n]) => `${code} ${n}`).join(', ') || 'none';
  print('');
  print(`tollgate demo: ${s.subscriptions} subscriptions on ${where}, every request delivered twice, writers racing`);
  print(`  transitions committed ........ ${s.transitions}`);
  print(`  attempts rejected ............ ${rejected}`);
  print(`  duplicate deliveries replayed  ${s.replays}`);
  print(`  conflict retries ............. ${s.conflictRetries ?? 'n/a (the key cannot read /metrics)'}`);
  print(`  charges written .............. ${s.charges} (per request key: ${s.doubleCharges} doubles; from grace: ${s.graceCharged})`);
  print(`  cancellation emails .......... ${s.cancellationEmails} (subscriptions with more than one: ${s.doubleCancellationEmails})`);
  print(`  paused -> active without payment: ${s.reactivatedWithoutPayment}`);
  print(s.ok ? '  integrity: OK, nothing drifted' : '  integrity: FAILED, see the counts above');
}
