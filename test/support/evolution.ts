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
