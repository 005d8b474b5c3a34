import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTollgate } from '../../src/index.ts';
import { testDatabaseUrl, type Backend } from './databases.ts';
import { ManualClock as ManualClockOf, type Clock, type ManualClock } from '../../src/clock.ts';
import { machines } from '../../machines/index.ts';
import { isTollgateError } from '../../src/errors.ts';
import type { Tollgate } from '../../src/runtime/create-tollgate.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import type { MachineRegistry } from '../../src/engine/definition.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

/** Fires every scheduled timer due on `clock` through the gate, as the timer worker does; returns how many committed. */
export async function fireDueTimers(tg: Tollgate<MachineRegistry>, clock: Clock): Promise<number> {
  const s = quoteIdent(testAccess(tg).schema);
  let fired = 0;
  for (;;) {
    const due = await testAccess(tg).client.query<{ id: string; machine: string; entity_id: string; event: { type: string } }>(
      `SELECT id, machine, entity_id, event FROM ${s}.timers WHERE status = 'scheduled' AND due_at <= $1::timestamptz ORDER BY due_at, id`,
      [new Date(clock.now())],
    );
    let progress = false;
    for (const timer of due) {
      try {
        await testAccess(tg).send(timer.machine, timer.entity_id, timer.event, { internal: true, firedTimerId: timer.id, idempotencyKey: timer.id });
        fired++;
        progress = true;
      } catch (error) {
        if (!isTollgateError(error) || error.retryable) throw error;
        await testAccess(tg).client.query(`UPDATE ${s}.timers SET status = 'stale', settled_at = $2::timestamptz WHERE id = $1::text AND status = 'scheduled'`, [timer.id, new Date(clock.now())]);
        progress = true;
      }
    }
    if (!progress) return fired;
  }
}

/**
 * Runtimes of successive releases over one database: Postgres (one schema, runtimes open side by side) or an embedded
 * data directory (PGlite allows one process: open the next release after closing the last).
 */
export async function releaseDatabase(
  backend: Backend,
): Promise<{
  open<R extends MachineRegistry>(machines: R, clock: Clock, options?: { snapshotCacheSize?: number }): Promise<Tollgate<R>>;
  /** Closes the open runtimes (a `tollgate` command may then open an embedded data directory); the flags that point it here. */
  release(): Promise<string[]>;
  close(): Promise<void>;
}> {
  const schema = `evo_${process.pid}_${++releaseCounter}`;
  const dataDir = backend === 'pglite' ? mkdtempSync(join(tmpdir(), 'tollgate-evolution-')) : undefined;
  const database = dataDir ? { dataDir } : { url: await testDatabaseUrl(), maxConnections: 10 };
  const open: Array<Tollgate<MachineRegistry>> = [];
  return {
    async close() {
      for (const tg of open.splice(0)) await tg.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    async release() {
      for (const tg of open.splice(0)) await tg.close();
      return dataDir ? ['--data-dir', dataDir] : ['--database-url', await testDatabaseUrl(), '--schema', schema];
    },
    async open(machines, clock, options = {}) {
      if ('dataDir' in database) for (const tg of open.splice(0)) await tg.close();
      const tg = await createTollgate({ machines, clock, database, ...options, ...(backend === 'postgres' ? { schema } : {}) });
      await tg.migrate();
      open.push(tg as unknown as Tollgate<MachineRegistry>);
      return tg;
    },
  };
}

let releaseCounter = 0;

/**
 * Release 1 subscriptions with real histories (test/replay, test/evolution): dunned to cancellation by its grace timer,
 * recovered, paused and resumed, a refused event, an expired trial.
 */
export async function recordSubscriptionActivity(tg: Tollgate<MachineRegistry>, clock: ManualClock): Promise<void> {
  const DAY = 86_400_000;
  const customer = (id: string) => ({ customerId: `c-${id}`, plan: 'pro', gracePeriodMs: 4 * DAY });
  const send = (id: string, event: Record<string, unknown> & { type: string }) => tg.send('subscription', id, event);
  for (const id of ['dunned', 'recovered', 'paused', 'refused']) {
    await tg.create('subscription', id, customer(id));
    await send(id, { type: 'UPGRADE', paymentMethodId: 'pm_1' });
  }
  await tg.create('subscription', 'expired', { customerId: 'c-x', plan: 'basic', trialPeriodMs: 2 * DAY });
  clock.advance(DAY);
  await send('dunned', { type: 'PAYMENT_FAILED' });
  await send('recovered', { type: 'PAYMENT_FAILED' });
  await send('paused', { type: 'PAUSE' });
  await send('refused', { type: 'RESUME' }).catch((error: unknown) => {
    if (!isTollgateError(error, 'TG_ILLEGAL_TRANSITION')) throw error;
  });
  clock.advance(DAY);
  await send('recovered', { type: 'PAYMENT_SUCCEEDED', chargeId: 'ch_1' });
  await send('paused', { type: 'RESUME' });
  clock.advance(5 * DAY);
  await fireDueTimers(tg, clock); // dunned: grace ends -> canceled; expired: trial ends without a payment method
}

/**
 * A database for the real CLI, filled by release 1 (`fill`, on a manual clock), then closed (PGlite allows one
 * process on a data directory): the flags that point a `tollgate` command at it, and its removal.
 */
export async function cliDatabase(backend: Backend, fill: (tg: Tollgate<MachineRegistry>, clock: ManualClock) => Promise<void>): Promise<{ args: string[]; remove(): void }> {
  const schema = `cli_${process.pid}_${++releaseCounter}`;
  const dataDir = backend === 'pglite' ? mkdtempSync(join(tmpdir(), 'tollgate-cli-')) : undefined;
  const database = dataDir ? { dataDir } : { url: await testDatabaseUrl() };
  const clock = new ManualClockOf(Date.parse('2026-01-01T00:00:00Z'));
  const tg = await createTollgate({ machines, database, clock, ...(dataDir ? {} : { schema }) });
  await tg.migrate();
  try {
    await fill(tg as unknown as Tollgate<MachineRegistry>, clock);
  } finally {
    await tg.close();
  }
  return {
    args: dataDir ? ['--data-dir', dataDir] : ['--database-url', await testDatabaseUrl(), '--schema', schema],
    remove: () => {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
