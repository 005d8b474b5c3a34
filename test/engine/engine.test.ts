import { describe, expect, it } from 'vitest';
import { assign, createMachine, enqueueActions, fromPromise, initialTransition, sendTo, setup, spawnChild } from 'xstate';
import { z } from 'zod';
import { acceptedEventTypes, nextEvents } from '../../src/engine/accepted-events.ts';
import { checkMachine } from '../../src/engine/check-machine.ts';
import { defineMachine } from '../../src/engine/definition.ts';
import { evaluate, evaluateInitial } from '../../src/engine/evaluate.ts';
import { restoreSnapshot } from '../../src/engine/restore.ts';
import { stateToString } from '../../src/engine/state-value.ts';
import { subscriptionMachine } from '../../machines/subscription.ts';

const target = { machine: 'm', entityId: 'e1' };
const defOf = (machine: ReturnType<typeof createMachine>) => defineMachine({ machine, version: 1, input: z.object({}), events: {} });

describe('acceptedEventTypes (wrapper of an internal XState API)', () => {
  it('lists the events of every active state node, guarded or not, including delayed ones', () => {
    const [trial] = initialTransition(subscriptionMachine, { customerId: 'c', plan: 'pro' });
    expect(acceptedEventTypes(trial).sort()).toEqual(['CANCEL', 'UPGRADE', 'xstate.after.trialPeriod.subscription.trial']);
    expect(nextEvents(trial, []).sort()).toEqual(['CANCEL', 'UPGRADE']);
  });

  it('includes events handled by ancestors and lists nothing for a final snapshot', () => {
    const [trial] = initialTransition(subscriptionMachine, { customerId: 'c', plan: 'pro' });
    const paused = subscriptionMachine.resolveState({ value: { paused: 'idle' }, context: trial.context });
    expect(acceptedEventTypes(paused).sort()).toEqual(['CANCEL', 'RESUME']);
    const canceled = subscriptionMachine.resolveState({ value: 'canceled', context: trial.context });
    expect(acceptedEventTypes(canceled)).toEqual([]);
  });
});

describe('evaluate', () => {
  const machine = setup({
    types: { context: {} as { n: number }, events: {} as { type: 'GO'; n: number } | { type: 'NOPE' } },
    actions: { effect: (_, _p: { n: number }) => {} },
    guards: { big: ({ event }) => event.type === 'GO' && event.n > 10 },
  }).createMachine({
    id: 'm',
    context: { n: 0 },
    initial: 'a',
    states: {
      a: {
        after: { 500: 'c' },
        on: { GO: { guard: 'big', target: 'b', actions: [assign({ n: ({ event }) => event.n }), { type: 'effect', params: ({ context }) => ({ n: context.n }) }] } },
      },
      b: { always: { target: 'c' }, after: { 100: 'a' } },
      c: {},
    },
  });

  it('refuses an unhandled event as illegal and a handled one with false guards as guard-rejected', () => {
    const s = evaluateInitial(machine, {}, target).snapshot;
    expect(evaluate(machine, s, { type: 'NOPE' }, target)).toMatchObject({ kind: 'refused', code: 'TG_ILLEGAL_TRANSITION', state: 'a' });
    expect(evaluate(machine, s, { type: 'GO', n: 1 } as never, target)).toMatchObject({ kind: 'refused', code: 'TG_GUARD_REJECTED' });
  });

  it('turns custom actions into effects with resolved params, delays into timers, leaving into cancels', () => {
    const init = evaluateInitial(machine, {}, target);
    expect(init.timers).toEqual([{ index: 0, sendId: 'xstate.after.500.m.a', event: { type: 'xstate.after.500.m.a' }, delayMs: 500 }]);
    const go = evaluate(machine, init.snapshot, { type: 'GO', n: 42 } as never, target);
    if (go.kind !== 'accepted') throw new Error('refused');
    expect(go.effects).toEqual([{ index: 0, type: 'effect', params: { n: 42 } }]);
    expect(go.cancels).toEqual(['xstate.after.500.m.a']);
    // b's timer is raised and cancelled within the same macrostep (always -> c): it never reaches the database.
    expect(go.timers).toEqual([]);
    expect(go.state).toBe('c');
  });

  it('refuses, as a machine fault, actions enqueued at run time that need a running actor or run inline code', () => {
    const m = setup({ actions: { named: () => {} } }).createMachine({
      id: 'x',
      initial: 'a',
      states: {
        a: {
          on: {
            EMIT: { actions: enqueueActions(({ enqueue }) => enqueue.emit({ type: 'hello' })) },
            INLINE: { actions: enqueueActions(({ enqueue }) => enqueue(function shout() {})) },
            NAMED: { actions: enqueueActions(({ enqueue }) => enqueue('named')) },
          },
        },
      },
    });
    const s = evaluateInitial(m, {}, target).snapshot;
    expect(evaluate(m, s, { type: 'EMIT' }, target)).toMatchObject({ kind: 'refused', code: 'TG_MACHINE_FAULT', state: 'a', reason: expect.stringMatching(/'xstate\.emit'.*custom action/) });
    expect(evaluate(m, s, { type: 'INLINE' }, target)).toMatchObject({ code: 'TG_MACHINE_FAULT', reason: expect.stringMatching(/'shout', which is not declared in setup/) });
    expect(evaluate(m, s, { type: 'NAMED' }, target)).toMatchObject({ kind: 'accepted', effects: [{ index: 0, type: 'named', params: {} }] });
  });

  it('an evaluation that throws (guard, assign, final output) is one refusal naming the thrown message', () => {
    const m = setup({ guards: { boom: () => { throw new Error('guard boom'); } } }).createMachine({
      id: 'x',
      initial: 'a',
      context: { n: 0 },
      states: {
        a: {
          on: {
            G: { guard: 'boom', target: 'done' },
            A: { actions: assign({ n: () => { throw new Error('assign boom'); } }) },
            F: 'done',
          },
        },
        done: { type: 'final' },
      },
      output: () => { throw new Error('output boom'); },
    });
    const s = evaluateInitial(m, {}, target).snapshot;
    expect(evaluate(m, s, { type: 'G' }, target)).toMatchObject({ kind: 'refused', code: 'TG_MACHINE_FAULT', reason: expect.stringMatching(/guard boom/) });
    expect(evaluate(m, s, { type: 'A' }, target)).toMatchObject({ kind: 'refused', code: 'TG_MACHINE_FAULT', reason: 'assign boom' });
    expect(evaluate(m, s, { type: 'F' }, target)).toMatchObject({ kind: 'refused', code: 'TG_MACHINE_FAULT', reason: 'output boom' });
    const throwing = setup({}).createMachine({ id: 'y', context: () => { throw new Error('context boom'); } });
    expect(() => evaluateInitial(throwing, {}, target)).toThrow(expect.objectContaining({ code: 'TG_MACHINE_FAULT', message: expect.stringMatching(/m\/e1: context boom/) }));
  });

  it('matches wildcard and partial-wildcard descriptors as XState does, falling back to them when a guard fails', () => {
    const m = setup({ guards: { ok: ({ event }) => (event as { ok?: boolean }).ok === true } }).createMachine({
      id: 'w',
      initial: 'a',
      states: {
        a: { on: { FOO: 'b', 'foo.*': 'f', '*': 'c' } },
        g: { on: { FOO: { guard: 'ok', target: 'b' }, '*': 'c' } },
        p: { on: { 'foo.*': 'f' } },
        b: {},
        c: {},
        f: {},
      },
    });
    const at = (value: string) => m.resolveState({ value, context: {} });
    expect(evaluate(m, at('a'), { type: 'BAR' }, target)).toMatchObject({ kind: 'accepted', state: 'c' });
    expect(evaluate(m, at('a'), { type: 'foo.qux' }, target)).toMatchObject({ kind: 'accepted', state: 'f' });
    expect(evaluate(m, at('a'), { type: 'FOO' }, target)).toMatchObject({ kind: 'accepted', state: 'b' });
    expect(evaluate(m, at('g'), { type: 'FOO' }, target)).toMatchObject({ kind: 'accepted', state: 'c' });
    expect(evaluate(m, at('g'), { type: 'FOO', ok: true } as never, target)).toMatchObject({ kind: 'accepted', state: 'b' });
    expect(evaluate(m, at('p'), { type: 'foo' }, target)).toMatchObject({ kind: 'accepted', state: 'f' });
    expect(evaluate(m, at('p'), { type: 'foo.a.b' }, target)).toMatchObject({ kind: 'accepted', state: 'f' });
    expect(evaluate(m, at('p'), { type: 'food' }, target)).toMatchObject({ kind: 'refused', code: 'TG_ILLEGAL_TRANSITION' });
    expect(nextEvents(at('a'), ['FOO', 'BAR', 'foo.qux'])).toEqual(['FOO', 'BAR', 'foo.qux']);
    expect(nextEvents(at('p'), ['FOO', 'BAR', 'foo.qux'])).toEqual(['foo.qux']);
  });

  it('state strings are sorted leaf paths', () => {
    expect(stateToString('a')).toBe('a');
    expect(stateToString({ p: { y: 'b', x: 'a' } })).toBe('p.x.a,p.y.b');
  });
});

describe('checkMachine refuses what a persisted entity cannot honour', () => {
  it.each([
    ['invoke', createMachine({ id: 'i', initial: 'a', states: { a: { invoke: { src: fromPromise(async () => 1) } } } }), /state 'i\.a' invokes/],
    ['sendTo', createMachine({ id: 's', initial: 'a', states: { a: { entry: sendTo('other', { type: 'X' }) } } }), /state 's\.a' \(entry\) uses xstate\.sendTo/],
    ['spawnChild', createMachine({ id: 'c', initial: 'a', states: { a: { on: { GO: { actions: spawnChild(fromPromise(async () => 1)) } } } } }), /state 'c\.a' \(on 'GO'\) uses xstate\.spawnChild/],
  ])('%s', (_name, machine, message) => {
    expect(() => checkMachine(machine.id, defOf(machine))).toThrow(message);
  });

  it('a version must be an integer >= 1', () => {
    expect(() => checkMachine('m', { ...defOf(createMachine({ id: 'm' })), version: 0 })).toThrow(/version must be an integer/);
  });
});

describe('restoreSnapshot', () => {
  it('names the entity, its machine version and the missing state when the machine no longer fits', () => {
    expect(() => restoreSnapshot(subscriptionMachine, { status: 'active', value: 'suspended', context: {}, children: {} }, { machine: 'subscription', entityId: 's9', machineVersion: 3 })).toThrow(
      /subscription\/s9 \(machine version 3\).*State 'suspended' does not exist/,
    );
  });
});
