import { describe, expect, it } from 'vitest';
import {
  assign,
  cancel,
  createMachine,
  emit,
  enqueueActions,
  forwardTo,
  fromPromise,
  log,
  raise,
  sendParent,
  sendTo,
  setup,
  spawnChild,
  stopChild,
} from 'xstate';
import { z } from 'zod';
import { machines } from '../../machines/index.ts';
import { checkMachine } from '../../src/engine/check-machine.ts';
import { createTollgate, defineMachine, isTollgateError, type AnyMachineDefinition } from '../../src/index.ts';

// What tollgate cannot make durable exactly as XState runs it is refused when the runtime starts (before it
// touches the database), with a message that names the state and says what to write instead.
const child = createMachine({ id: 'child' });
const events = { GO: z.strictObject({}), PING: z.strictObject({}) };
const flow = (id: string, go: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ({ id, initial: 'idle', states: { idle: { on: { GO: { target: 'running', ...go } } }, running: { ...extra } } }) as never;

// Machines built from `never` configs type oddly; the runtime sees them as any registry value.
const refused: Array<{ feature: string; name?: string; definition: Omit<Partial<AnyMachineDefinition>, 'machine'> & { machine: { id: string } }; message: RegExp }> = [
  {
    feature: 'invoke',
    definition: {
      machine: setup({ actors: { fetchQuote: fromPromise(async () => 42) } }).createMachine({
        id: 'quotes',
        initial: 'idle',
        states: { idle: { on: { GO: 'loading' } }, loading: { invoke: { src: 'fetchQuote' } } },
      }),
    },
    message: /state 'quotes\.loading' invokes 'fetchQuote'.*custom action \(an effect run by a worker\)/,
  },
  {
    feature: 'spawnChild',
    definition: { machine: setup({ actors: { child } }).createMachine(flow('parent', {}, { entry: spawnChild('child') })) },
    message: /state 'parent\.running' \(entry\) uses xstate\.spawnChild; model the child as its own entity/,
  },
  {
    feature: 'stopChild',
    definition: { machine: setup({}).createMachine(flow('stopper', { actions: stopChild('someone') })) },
    message: /state 'stopper\.idle' \(on 'GO'\) uses xstate\.stopChild; model the child as its own entity/,
  },
  {
    feature: 'sendTo',
    definition: { machine: setup({}).createMachine(flow('notifier', { actions: sendTo('someone', { type: 'PONG' }) })) },
    message: /state 'notifier\.idle' \(on 'GO'\) uses xstate\.sendTo; declare a custom action \(an effect\)/,
  },
  {
    feature: 'sendParent',
    definition: { machine: setup({}).createMachine(flow('kid', {}, { exit: sendParent({ type: 'DONE' }), on: { PING: 'idle' } })) },
    message: /state 'kid\.running' \(exit\) uses xstate\.sendTo; declare a custom action/,
  },
  {
    feature: 'forwardTo',
    definition: { machine: setup({}).createMachine(flow('fwd', { actions: forwardTo('other') })) },
    message: /state 'fwd\.idle' \(on 'GO'\) uses xstate\.sendTo/,
  },
  {
    feature: 'emit',
    definition: { machine: setup({}).createMachine(flow('emitter', {}, { entry: emit({ type: 'started' }) })) },
    message: /state 'emitter\.running' \(entry\) uses xstate\.emit; declare a custom action \(an effect\) that publishes the event/,
  },
  {
    feature: 'an inline function action on a transition',
    definition: { machine: setup({}).createMachine(flow('inline', { actions: () => console.log('never') })) },
    message: /state 'inline\.idle' \(on 'GO'\) has an inline function action\. .*setup\(\{ actions: \{ myAction: \.\.\. \} \}\) and write 'myAction'.*as an effect/,
  },
  {
    feature: 'an inline function entry action (named function)',
    definition: { machine: setup({}).createMachine(flow('inline2', {}, { entry: function notifyOps() {} })) },
    message: /state 'inline2\.running' \(entry\) has an inline function action 'notifyOps'/,
  },
  {
    feature: 'an inline function in always',
    definition: {
      machine: setup({}).createMachine({ id: 'inline3', initial: 'a', states: { a: { always: { target: 'b', actions: [() => {}] } }, b: {} } }),
    },
    message: /state 'inline3\.a' \(always\) has an inline function action/,
  },
  {
    feature: 'an inline function on a delayed transition',
    definition: {
      machine: setup({}).createMachine({ id: 'inline4', initial: 'a', states: { a: { after: { 1000: { target: 'b', actions: () => {} } } }, b: {} } }),
    },
    message: /state 'inline4\.a' \(on 'xstate\.after\.1000\.inline4\.a'\) has an inline function action/,
  },
  {
    feature: 'a named action not declared in setup',
    definition: { machine: setup({}).createMachine(flow('typo', { actions: 'chargePayment' })) },
    message: /state 'typo\.idle' \(on 'GO'\) uses the action 'chargePayment', which is not declared in setup\(\{ actions \}\)/,
  },
  {
    feature: 'a named action implemented as sendTo',
    definition: { machine: setup({ actions: { tell: sendTo('x', { type: 'Y' }) } }).createMachine(flow('teller', { actions: 'tell' })) },
    message: /state 'teller\.idle' \(on 'GO'\), through the named action 'tell' uses xstate\.sendTo/,
  },
  {
    feature: 'an infix wildcard',
    definition: { machine: setup({}).createMachine({ id: 'infix', initial: 'a', states: { a: { on: { 'order.*.paid': 'b' } }, b: {} } }) },
    message: /state 'infix\.a' handles 'order\.\*\.paid'.*never be taken\. Write '\*' or a 'prefix\.\*' descriptor/,
  },
  {
    feature: 'a handled event with no payload schema',
    definition: { machine: setup({}).createMachine(flow('schemaless', {}, { on: { STOP: 'idle' } })), events: { GO: z.strictObject({}) } },
    message: /state 'schemaless\.running' handles 'STOP', which has no payload schema in events\. Add "STOP": z\.strictObject/,
  },
  {
    feature: 'a registry name that differs from the machine id',
    name: 'orders',
    definition: { machine: setup({}).createMachine(flow('order', {})) },
    message: /^Machine 'orders' cannot be registered: its XState id is 'order'.*register it as 'order', or give it id: 'orders'/,
  },
  {
    feature: 'a registry name that breaks the naming rule',
    name: 'Order Flow',
    definition: { machine: setup({}).createMachine(flow('Order Flow', {})) },
    message: /registry names are 1 to 63 characters: a lower-case letter, then lower-case letters, digits, '-' or '_'/,
  },
  {
    feature: 'a compensation naming an event with no transition',
    definition: {
      machine: setup({ actions: { charge: () => {} } }).createMachine(flow('comp', { actions: 'charge' })),
      events: { GO: z.strictObject({}), CHARGE_FAILED: z.strictObject({}) },
      compensations: { charge: 'CHARGE_FAILED' },
    },
    message: /the compensation of 'charge' is 'CHARGE_FAILED', but no state of the machine has a transition for it/,
  },
  {
    feature: 'a compensation whose event needs a payload',
    definition: {
      machine: setup({ actions: { charge: () => {} } }).createMachine(flow('comp2', { actions: 'charge' }, { on: { CHARGE_FAILED: 'idle' } })),
      events: { GO: z.strictObject({}), CHARGE_FAILED: z.strictObject({ reason: z.string() }) },
      compensations: { charge: 'CHARGE_FAILED' },
    },
    message: /'CHARGE_FAILED', which needs a payload; tollgate sends it as \{ type: 'CHARGE_FAILED' \} alone/,
  },
];

const memory = { dataDir: 'memory://' };

async function refusalOf(options: Parameters<typeof createTollgate>[0]): Promise<unknown> {
  return createTollgate(options).then(
    async (tg) => {
      await tg.close();
      return undefined;
    },
    (e: unknown) => e,
  );
}

describe('registration refuses what tollgate cannot run as XState does', () => {
  for (const { feature, name, definition, message } of refused) {
    it(`${feature}: TG_MACHINE_UNSUPPORTED naming the state and what to write instead`, async () => {
      const registryName = name ?? definition.machine.id;
      const full = { version: 1, input: z.strictObject({}), events, ...definition } as unknown as AnyMachineDefinition;
      const error = await refusalOf({ machines: { [registryName]: full }, database: memory });
      expect(isTollgateError(error, 'TG_MACHINE_UNSUPPORTED')).toBe(true);
      expect((error as Error).message).toMatch(new RegExp(`^Machine '${registryName}' cannot be registered: `));
      expect((error as Error).message).toMatch(message);
    });
  }

  it('accepts what it runs as XState does: assign, raise, cancel, log, enqueueActions, named custom actions, wildcards', async () => {
    const machine = setup({ actions: { notify: () => {}, bump: assign({ n: 1 }) } }).createMachine({
      id: 'fine',
      context: { n: 0 },
      initial: 'a',
      states: {
        a: {
          entry: [log('entered'), 'notify', { type: 'notify', params: { x: 1 } }, 'bump'],
          on: {
            GO: { target: 'b', actions: [assign({ n: 2 }), raise({ type: 'PING' }, { delay: 10, id: 'p' }), enqueueActions(({ enqueue }) => enqueue('notify'))] },
            'order.*': 'b',
            '*': 'a',
          },
        },
        b: { on: { PING: 'a' }, exit: cancel('p') },
      },
    });
    expect(() => checkMachine('fine', defineMachine({ machine, version: 1, input: z.strictObject({}), events }))).not.toThrow();
    for (const [name, definition] of Object.entries(machines)) checkMachine(name, definition);
  });

  it('an unknown top-level option of createTollgate is refused with TG_INVALID_OPTIONS naming it', async () => {
    const error = await refusalOf({ machines, database: memory, snapshotCache: 0 } as never);
    expect(isTollgateError(error, 'TG_INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toMatch(/snapshotCache/);
  });
});
