import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { z } from 'zod';
import { defineMachine } from '../../src/engine/definition.ts';
import { planMigration } from '../../src/runtime/migration.ts';
import type { TimerRow } from '../../src/store/rows.ts';

// A door that closes itself: release 1 after a minute, release 2 after 30 s (same named delay), and `ajar` gets a timer.
const door = (version: number, closeAfterMs: number) =>
  defineMachine({
    machine: setup({ delays: { closeAfter: closeAfterMs } }).createMachine({
      id: 'door',
      initial: 'closed',
      states: {
        closed: { on: { OPEN: 'open' } },
        open: { after: { closeAfter: 'closed' }, on: { CLOSE: 'closed' } },
        ajar: version === 1 ? { on: { CLOSE: 'closed' } } : { after: { closeAfter: 'closed' }, on: { CLOSE: 'closed' } },
      },
    }),
    version,
    input: z.object({}),
    events: { OPEN: z.strictObject({}), CLOSE: z.strictObject({}) },
    ...(version === 2 ? { migrations: { 1: (s) => s } } : {}),
  });
const v2 = door(2, 30_000);
const t0 = Date.parse('2026-01-01T00:00:00Z');
const timer = (sendId: string, armedAt: number, delayMs: number): TimerRow => ({
  id: 't1',
  machine: 'door',
  entity_id: 'd1',
  transition_id: '00000000-0000-0000-0000-000000000001',
  send_id: sendId,
  event: { type: sendId },
  due_at: new Date(armedAt + delayMs),
  status: 'scheduled',
  created_at: new Date(armedAt),
  armed_at: null,
  settled_at: null,
});
const source = (state: string) => ({ machine: 'door', id: 'd1', machineVersion: 1, state, snapshot: { value: state, context: {}, status: 'active', historyValue: {} }, stateEnteredAt: new Date(t0) });

describe('timers re-derived by a migration (point 1)', () => {
  it('a delay that changed is re-armed from the time its state was entered; an unchanged one is kept', () => {
    const rearmed = planMigration(v2, source('open'), [timer('xstate.after.closeAfter.door.open', t0, 60_000)]);
    expect(rearmed.timers).toEqual([{ sendId: 'xstate.after.closeAfter.door.open', action: 'rearmed', dueAt: new Date(t0 + 30_000).toISOString() }]);
    expect(rearmed.cancel).toEqual(['xstate.after.closeAfter.door.open']);
    expect(rearmed.arm).toEqual([{ sendId: 'xstate.after.closeAfter.door.open', event: { type: 'xstate.after.closeAfter.door.open' }, dueAt: new Date(t0 + 30_000) }]);

    const kept = planMigration(v2, source('open'), [timer('xstate.after.closeAfter.door.open', t0, 30_000)]);
    expect(kept.timers).toEqual([{ sendId: 'xstate.after.closeAfter.door.open', action: 'kept', dueAt: new Date(t0 + 30_000).toISOString() }]);
    expect(kept.arm).toEqual([]);
  });

  it('a state that gained a timer arms it from its entry time; one that lost its timer cancels it', () => {
    expect(planMigration(v2, source('ajar'), []).timers).toEqual([{ sendId: 'xstate.after.closeAfter.door.ajar', action: 'armed', dueAt: new Date(t0 + 30_000).toISOString() }]);
    expect(planMigration(v2, source('closed'), [timer('xstate.after.closeAfter.door.open', t0, 60_000)]).timers).toEqual([
      { sendId: 'xstate.after.closeAfter.door.open', action: 'cancelled' },
    ]);
  });
});
