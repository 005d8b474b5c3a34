import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { z } from 'zod';
import { defineMachine } from '../../src/index.ts';
import { backends, testRuntime } from '../support/databases.ts';

describe.each(backends())('send never runs an effect on %s', (backend) => {
  it('custom action implementations are not called; the effects are only written', async () => {
    const calls: string[] = [];
    const machine = setup({
      types: { events: {} as { type: 'GO' } | { type: 'BACK' } },
      actions: {
        charge: () => calls.push('charge'),
        email: () => calls.push('email'),
      },
    }).createMachine({
      id: 'probe',
      initial: 'a',
      states: {
        a: { entry: 'email', on: { GO: { target: 'b', actions: 'charge' } } },
        b: { exit: 'email', on: { BACK: 'a' } },
      },
    });
    const probe = defineMachine({ machine, version: 1, input: z.object({}), events: { GO: z.strictObject({}), BACK: z.strictObject({}) } });
    const tg = await testRuntime(backend, { machines: { probe } });

    await tg.create('probe', 'p', {});
    await tg.send('probe', 'p', { type: 'GO' });
    await tg.send('probe', 'p', { type: 'BACK' });

    expect(calls).toEqual([]);
    expect((await tg.effects('probe', 'p')).map((e) => [e.seq, e.type, e.status])).toEqual([
      [1, 'email', 'pending'],
      [2, 'charge', 'pending'],
      [3, 'email', 'pending'],
      [3, 'email', 'pending'],
    ]);
  });
});
