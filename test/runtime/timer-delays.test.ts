import { beforeAll, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { machines } from '../../machines/index.ts';
import { createTollgate, defineMachine, MAX_TIMER_DELAY_MS, type Tollgate } from '../../src/index.ts';
import { bearer, expectProblem, keys, testApi } from '../http/support.ts';
import { backends, testRuntime } from '../support/databases.ts';

const HUGE = 9007199254740991; // Number.MAX_SAFE_INTEGER: overflows a Date when added to now

// A machine whose delay comes from context with no bound in its input schema: only the engine's check stands
// between such a value and a timer row nobody can store or fire.
const unbounded = setup({
  types: { context: {} as { waitMs: number; graceMs: number }, input: {} as { waitMs: number; graceMs: number } },
  delays: { wait: ({ context }) => context.waitMs, grace: ({ context }) => context.graceMs },
}).createMachine({
  id: 'unbounded',
  context: ({ input }) => ({ ...input }),
  initial: 'waiting',
  states: {
    waiting: { after: { wait: 'open' }, on: { OPEN: 'open' } },
    open: { on: { FAIL: 'grace', SET_GRACE: { actions: assign({ graceMs: ({ event }) => (event as unknown as { graceMs: number }).graceMs }) } } },
    grace: { after: { grace: 'closed' }, on: { RECOVER: 'open' } },
    closed: { type: 'final' },
  },
});
const registry = {
  unbounded: defineMachine({
    machine: unbounded,
    version: 1,
    input: z.object({ waitMs: z.number(), graceMs: z.number() }),
    events: { OPEN: z.object({}), FAIL: z.object({}), RECOVER: z.object({}), SET_GRACE: z.object({ graceMs: z.number() }) },
  }),
};

async function footprint(tg: Tollgate<typeof registry>, id: string) {
  const [entity, history, timers] = await Promise.all([tg.get('unbounded', id), tg.history('unbounded', id), tg.timers('unbounded', id)]);
  return { entity, history, timers };
}

describe.each(backends())('timer delays a due time cannot hold are refused up front on %s', (backend) => {
  // One migrated runtime for the file (a schema per test costs seconds on a busy machine); ids keep tests apart.
  let shared: Tollgate<typeof machines & typeof registry>;
  beforeAll(async () => {
    shared = await testRuntime(backend, { machines: { ...machines, ...registry } });
  });
  const runtime = async () => shared;
  it.each([
    ['subscription', { customerId: 'c', plan: 'basic', trialPeriodMs: HUGE }, 'trialPeriodMs'],
    ['subscription', { customerId: 'c', plan: 'basic', gracePeriodMs: HUGE }, 'gracePeriodMs'],
    ['order', { orderId: 'o', customerId: 'c', amountCents: 100, paymentTimeoutMs: HUGE }, 'paymentTimeoutMs'],
    ['payout', { payoutId: 'p', customerId: 'c', amountCents: 100, retryDelayMs: HUGE }, 'retryDelayMs'],
    ['payout', { payoutId: 'p', customerId: 'c', amountCents: 100, reviewTimeoutMs: MAX_TIMER_DELAY_MS + 1 }, 'reviewTimeoutMs'],
  ] as const)('%s create with an oversized delay names the field (%#)', async (machine, input, field) => {
    const tg = await runtime();
    const error = await tg.create(machine, `big-${field}`, input as never).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TG_INVALID_INPUT', details: { field } });
    await expect(tg.get(machine, `big-${field}`)).rejects.toMatchObject({ code: 'TG_ENTITY_NOT_FOUND' });
  });

  it('the largest delay allowed is stored and read back exactly', async () => {
    const tg = await runtime();
    const entity = await tg.create('subscription', 'far', { customerId: 'c', plan: 'basic', trialPeriodMs: MAX_TIMER_DELAY_MS });
    const [timer] = await tg.timers('subscription', 'far');
    expect(Date.parse(timer?.dueAt ?? '') - Date.parse(entity.stateEnteredAt)).toBe(MAX_TIMER_DELAY_MS);
  });

  it('a create whose initial state arms an oversized timer is TG_TIMER_DELAY_OUT_OF_RANGE and writes nothing', async () => {
    const tg = (await runtime()) as unknown as Tollgate<typeof registry>;
    for (const waitMs of [HUGE, -1]) {
      const error = await tg.create('unbounded', 'u1', { waitMs, graceMs: 1000 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TG_TIMER_DELAY_OUT_OF_RANGE', status: 422, details: { machine: 'unbounded', state: '(initial)', timer: 'xstate.after.wait.unbounded.waiting' } });
      expect((error as Error).message).toMatch(/'xstate\.after\.wait\.unbounded\.waiting'.*from 0 to 100000000000000/);
    }
    await expect(tg.get('unbounded', 'u1')).rejects.toMatchObject({ code: 'TG_ENTITY_NOT_FOUND' });
  });

  it('a send whose transition would arm an oversized timer is refused, changes nothing, and the entity stays usable', async () => {
    const tg = (await runtime()) as unknown as Tollgate<typeof registry>;
    await tg.create('unbounded', 'u2', { waitMs: 60_000, graceMs: HUGE });
    await tg.send('unbounded', 'u2', { type: 'OPEN' });
    const before = await footprint(tg, 'u2');
    for (let i = 0; i < 2; i++) {
      await expect(tg.send('unbounded', 'u2', { type: 'FAIL' })).rejects.toMatchObject({
        code: 'TG_TIMER_DELAY_OUT_OF_RANGE',
        details: { entityId: 'u2', state: 'open', event: 'FAIL', delayMs: HUGE },
      });
    }
    expect(await footprint(tg, 'u2')).toEqual(before);
    // Repaired through an event, the same entity goes on as normal.
    await tg.send('unbounded', 'u2', { type: 'SET_GRACE', graceMs: 5_000 });
    const { entity } = await tg.send('unbounded', 'u2', { type: 'FAIL' });
    expect(entity.state).toBe('grace');
  });

  it('over HTTP: send and dry run answer 422 problem+json, never 500', async () => {
    const { app } = await testApi(backend, {}, (await runtime()) as unknown as Tollgate<typeof machines>);
    const create = await app.inject({ method: 'POST', url: '/v1/entities/unbounded', headers: bearer(keys.write), payload: { id: 'h1', input: { waitMs: 1, graceMs: HUGE } } });
    expect(create.statusCode).toBe(201);
    await app.inject({ method: 'POST', url: '/v1/entities/unbounded/h1/events', headers: bearer(keys.write), payload: { type: 'OPEN' } });
    for (const url of ['/v1/entities/unbounded/h1/events', '/v1/entities/unbounded/h1/events:dry-run']) {
      const response = await app.inject({ method: 'POST', url, headers: bearer(keys.write), payload: { type: 'FAIL' } });
      expectProblem(response, 'TG_TIMER_DELAY_OUT_OF_RANGE');
    }
    const huge = await app.inject({ method: 'POST', url: '/v1/entities/subscription', headers: bearer(keys.write), payload: { id: 'h-sub', input: { customerId: 'c', plan: 'basic', trialPeriodMs: HUGE } } });
    expect(expectProblem(huge, 'TG_INVALID_INPUT').detail).toMatch(/trialPeriodMs/);
  });
});

describe('registration', () => {
  it.each([
    ['a numeric after key', setup({}).createMachine({ id: 'm', initial: 'a', states: { a: { after: { 9007199254740991: 'b' } }, b: {} } })],
    ['a named delay that is a number', setup({ delays: { forever: 1e15 } }).createMachine({ id: 'm', initial: 'a', states: { a: { after: { forever: 'b' } }, b: {} } })],
  ])('refuses %s out of range', async (_name, machine) => {
    const create = createTollgate({ machines: { m: defineMachine({ machine, version: 1, input: z.object({}), events: {} }) }, database: { dataDir: 'memory://' } });
    await expect(create).rejects.toMatchObject({ code: 'TG_TIMER_DELAY_OUT_OF_RANGE', details: { machine: 'm', state: 'm.a' } });
  });
});
