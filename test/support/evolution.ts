import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTollgate } from '../../src/index.ts';
import { testDatabaseUrl, type Backend } from './databases.ts';
import type { Clock } from '../../src/clock.ts';
import { isTollgateError } from '../../src/errors.ts';
import type { Tollgate } from '../../src/runtime/create-tollgate.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import type { MachineRegistry } from '../../src/engine/definition.ts';

/** Fires every scheduled timer due on `clock` through the gate, as the timer worker does; returns how many committed. */
export async function fireDueTimers(tg: Tollgate<MachineRegistry>, clock: Clock): Promise<number> {
  const s = quoteIdent(tg.internals.schema);
  let fired = 0;
  for (;;) {
    const due = await tg.internals.client.query<{ id: string; machine: string; entity_id: string; event: { type: string } }>(
      `SELECT id, machine, entity_id, event FROM ${s}.timers WHERE status = 'scheduled' AND due_at <= $1::timestamptz ORDER BY due_at, id`,
      [new Date(clock.now())],
    );
    let progress = false;
    for (const timer of due) {
      try {
        await tg.internals.send(timer.machine, timer.entity_id, timer.event, { internal: true, firedTimerId: timer.id, idempotencyKey: timer.id });
        fired++;
        progress = true;
      } catch (error) {
        if (!isTollgateError(error) || error.retryable) throw error;
        await tg.internals.client.query(`UPDATE ${s}.timers SET status = 'stale', settled_at = $2::timestamptz WHERE id = $1::text AND status = 'scheduled'`, [timer.id, new Date(clock.now())]);
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
export async function releaseDatabase(backend: Backend): Promise<{ open<R extends MachineRegistry>(machines: R, clock: Clock): Promise<Tollgate<R>>; close(): Promise<void> }> {
  const schema = `evo_${process.pid}_${++releaseCounter}`;
  const dataDir = backend === 'pglite' ? mkdtempSync(join(tmpdir(), 'tollgate-evolution-')) : undefined;
  const database = dataDir ? { dataDir } : { url: await testDatabaseUrl(), maxConnections: 10 };
  const open: Array<Tollgate<MachineRegistry>> = [];
  return {
    async close() {
      for (const tg of open.splice(0)) await tg.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    async open(machines, clock) {
      if ('dataDir' in database) for (const tg of open.splice(0)) await tg.close();
      const tg = await createTollgate({ machines, clock, database, ...(backend === 'postgres' ? { schema } : {}) });
      await tg.migrate();
      open.push(tg as unknown as Tollgate<MachineRegistry>);
      return tg;
    },
  };
}

let releaseCounter = 0;
