import { describe, expect, it } from 'vitest';
import { createMachine, fromPromise, sendTo, setup, spawnChild, type AnyStateMachine } from 'xstate';
import { z } from 'zod';
import { defineMachine, isTollgateError } from '../../src/index.ts';
import { testRuntime } from '../support/databases.ts';

// Features a persisted entity cannot honour: each is refused when the runtime starts, naming the state.
const child = createMachine({ id: 'child' });

const refused: Array<{ feature: string; machine: AnyStateMachine; message: RegExp }> = [
  {
    feature: 'invoke',
    machine: setup({ actors: { fetchQuote: fromPromise(async () => 42) } }).createMachine({
      id: 'quotes',
      initial: 'idle',
      states: { idle: { on: { GO: 'loading' } }, loading: { invoke: { src: 'fetchQuote' } } },
    }),
    message: /state 'quotes\.loading' invokes 'fetchQuote'.*custom action \(an effect run by a worker\)/,
  },
  {
    feature: 'spawnChild',
    machine: setup({ actors: { child } }).createMachine({
      id: 'parent',
      initial: 'idle',
      states: { idle: { on: { GO: 'running' } }, running: { entry: spawnChild('child') } },
    }),
    message: /state 'parent\.running' uses xstate\.spawnChild \(entry\); model the child as its own entity/,
  },
  {
    feature: 'sendTo',
    machine: setup({}).createMachine({
      id: 'notifier',
      initial: 'idle',
      states: { idle: { on: { PING: { actions: sendTo('someone', { type: 'PONG' }) } } } },
    }),
    message: /state 'notifier\.idle' uses xstate\.sendTo \(on 'PING'\); declare a custom action \(an effect\)/,
  },
];

describe('features the runtime refuses', () => {
  for (const { feature, machine, message } of refused) {
    it(`${feature}: createTollgate throws TG_MACHINE_UNSUPPORTED naming the state and what to do instead`, async () => {
      const definition = defineMachine({ machine, version: 1, input: z.strictObject({}), events: { GO: z.strictObject({}), PING: z.strictObject({}) } });
      const error = await testRuntime('postgres', { machines: { [machine.id]: definition } }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isTollgateError(error, 'TG_MACHINE_UNSUPPORTED')).toBe(true);
      expect((error as Error).message).toMatch(new RegExp(`^Machine '${machine.id}' cannot be registered: `));
      expect((error as Error).message).toMatch(message);
    });
  }
});
