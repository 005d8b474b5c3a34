import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { z } from 'zod';
import { defineMachine, ManualClock } from '../../src/index.ts';
import { backends, testRuntime } from '../support/databases.ts';

const toggle = defineMachine({
  machine: setup({
    types: { context: {} as { n: number }, events: {} as { type: 'FLIP' } | { type: 'STOP' } },
    actions: { ping: (_, _p: { n: number }) => {} },
  }).createMachine({
    id: 'toggle',
    context: { n: 0 },
    initial: 'off',
    states: {
      off: { on: { FLIP: { target: 'on', actions: { type: 'ping', params: ({ context }) => ({ n: context.n }) } } } },
      on: { after: { 1000: 'off' }, on: { FLIP: 'off', STOP: 'stopped' } },
      stopped: { type: 'final' },
    },
  }),
  version: 1,
  input: z.object({}),
  events: { FLIP: z.strictObject({}), STOP: z.strictObject({}) },
});

describe.each(backends())('smoke on %s', (backend) => {
  it('creates, sends, rejects and replays', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const tg = await testRuntime(backend, { machines: { toggle }, clock });
    const created = await tg.create('toggle', 't1', {});
    expect(created.state).toBe('off');
    const r = await tg.send('toggle', 't1', { type: 'FLIP' }, { idempotencyKey: 'k1' });
    expect(r.entity.state).toBe('on');
    expect(r.entity.version).toBe(2);
    const again = await tg.send('toggle', 't1', { type: 'FLIP' }, { idempotencyKey: 'k1' });
    expect(again.replayed).toBe(true);
    expect(again.transition.id).toBe(r.transition.id);
    expect(await tg.timers('toggle', 't1')).toMatchObject([{ status: 'scheduled', dueAt: '2026-01-01T00:00:01.000Z' }]);
    await tg.send('toggle', 't1', { type: 'FLIP' });
    expect(await tg.timers('toggle', 't1')).toMatchObject([{ status: 'cancelled' }]);
    await expect(tg.send('toggle', 't1', { type: 'STOP' })).rejects.toMatchObject({ code: 'TG_ILLEGAL_TRANSITION' });
    expect(await tg.rejections('toggle', 't1')).toHaveLength(1);
    expect((await tg.effects('toggle', 't1')).map((e) => e.type)).toEqual(['ping']);
    expect((await tg.history('toggle', 't1')).map((t) => t.seq)).toEqual([1, 2, 3]);
  });
});
