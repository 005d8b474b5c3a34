import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { isTollgateError } from '../../src/errors.ts';
import { buildServer } from '../../src/http/server.ts';
import { fidelityMachines } from '../fixtures/fidelity-machines.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { eventually, stopAll, testProcesses } from '../support/processes.ts';

afterEach(stopAll);

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (error: unknown) => (isTollgateError(error) ? error.code : `uncoded: ${String(error)}`),
  );

// The four classes of machine that once failed silently or late (issue 11), through the gate on both backends.
describe.each(backends())('XState fidelity through the gate on %s', (backend) => {
  const runtime = () => testRuntime(backend, { machines: fidelityMachines, clock: new ManualClock(Date.parse('2026-05-01T00:00:00Z')) });

  it('a machine with no child states is created and counts like an actor', async () => {
    const tg = await runtime();
    const created = await tg.create('tally', 't1', { step: 2 });
    expect(created).toMatchObject({ value: {}, state: '', version: 1, context: { count: 0, step: 2 }, nextEvents: ['inc', 'add', 'reset'] });
    await tg.send('tally', 't1', { type: 'inc' });
    await tg.send('tally', 't1', { type: 'add', by: 5 });
    expect(await tg.get('tally', 't1')).toMatchObject({ context: { count: 7 }, version: 3 });
    expect((await tg.history('tally', 't1')).map((t) => [t.eventType, t.fromState, t.toState])).toEqual([
      ['xstate.init', null, ''],
      ['inc', '', ''],
      ['add', '', ''],
    ]);
    expect(await tg.effects('tally', 't1')).toMatchObject([{ type: 'counted', params: { count: 2 } }]);
    // A second create of the same id is still refused as existing.
    expect(await codeOf(tg.create('tally', 't1', {}))).toBe('TG_ENTITY_EXISTS');
  }, 60_000);

  it('wildcard and partial-wildcard descriptors are taken as XState takes them, in sends and dry runs', async () => {
    const tg = await runtime();
    await tg.create('wild', 'w1', {});
    // nextEvents lists the declared events the wildcards match, never the pattern itself.
    expect((await tg.get('wild', 'w1')).nextEvents).toEqual(['FOO', 'BAR', 'order.paid', 'order.refund.requested', 'BACK']);
    expect(await tg.dryRun('wild', 'w1', { type: 'BAR' })).toMatchObject({ to: { state: 'other' }, effects: [{ type: 'audit', params: { type: 'BAR' } }] });
    // FOO's guard fails: XState falls back to the '*' transition.
    expect((await tg.send('wild', 'w1', { type: 'FOO' })).entity.state).toBe('other');
    await tg.send('wild', 'w1', { type: 'BACK' });
    expect((await tg.send('wild', 'w1', { type: 'FOO', ok: true })).entity.state).toBe('foo');
    await tg.send('wild', 'w1', { type: 'BACK' });
    const order = await tg.send('wild', 'w1', { type: 'order.paid' });
    expect(order.entity).toMatchObject({ state: 'order', context: { seen: ['order.paid'] }, nextEvents: ['BACK', 'order.refund.requested'] });
    expect(await codeOf(tg.send('wild', 'w1', { type: 'BAR' }))).toBe('TG_ILLEGAL_TRANSITION');
    expect(await codeOf(tg.dryRun('wild', 'w1', { type: 'BAR' }))).toBe('TG_ILLEGAL_TRANSITION');
    expect((await tg.send('wild', 'w1', { type: 'order.refund.requested' })).entity).toMatchObject({ state: 'refund', status: 'done', nextEvents: [] });
  }, 60_000);

  it('an evaluation that throws is TG_MACHINE_FAULT (422, final), recorded as a rejection, nothing else written', async () => {
    const tg = await runtime();
    await tg.create('faulty', 'f1', {});
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ type: 'CHECK', explode: true }, /guard exploded/],
      [{ type: 'SET', value: -1 }, /negative value -1/],
    ];
    for (const [event, thrown] of cases) {
      const error = await tg.send('faulty', 'f1', event as never).then(() => undefined, (e: unknown) => e);
      expect(isTollgateError(error, 'TG_MACHINE_FAULT')).toBe(true);
      expect(error).toMatchObject({ status: 422, retryable: false, details: { machine: 'faulty', entityId: 'f1', state: 'open', event: event.type } });
      expect((error as Error).message).toMatch(new RegExp(`^Machine 'faulty' threw while evaluating '${String(event.type)}' for faulty/f1 in state 'open': [\\s\\S]*${thrown.source}`));
      expect(await codeOf(tg.dryRun('faulty', 'f1', event as never))).toBe('TG_MACHINE_FAULT');
    }
    await tg.send('faulty', 'f1', { type: 'SET', value: 13 });
    expect(await codeOf(tg.send('faulty', 'f1', { type: 'CLOSE' }))).toBe('TG_MACHINE_FAULT'); // the output throws
    expect(await tg.get('faulty', 'f1')).toMatchObject({ state: 'open', version: 2, context: { value: 13 } });
    expect(await tg.history('faulty', 'f1')).toHaveLength(2);
    expect((await tg.rejections('faulty', 'f1')).map((r) => [r.code, r.eventType, r.state])).toEqual([
      ['TG_MACHINE_FAULT', 'CHECK', 'open'],
      ['TG_MACHINE_FAULT', 'SET', 'open'],
      ['TG_MACHINE_FAULT', 'CLOSE', 'open'],
    ]);
    expect(await tg.metricsText()).toMatch(/tollgate_rejections_total\{[^}]*code="TG_MACHINE_FAULT"[^}]*\} 1/);

    // Over HTTP: a problem+json 422 with the code, not an uncoded 500.
    const app = await buildServer(tg, { auth: { mode: 'open' } });
    const response = await app.inject({ method: 'POST', url: '/v1/entities/faulty/f1/events', payload: { type: 'SET', value: -2 } });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ code: 'TG_MACHINE_FAULT', retryable: false });
    await app.close();
  }, 60_000);

  it('a timer whose firing throws is marked stale, counted with its reason, and never retried', async () => {
    const clock = new ManualClock(Date.parse('2026-05-01T00:00:00Z'));
    const tg = await testRuntime(backend, { machines: fidelityMachines, clock });
    await testProcesses(tg, 'in-process');
    await tg.create('faulty', 'f2', {});
    await tg.send('faulty', 'f2', { type: 'ARM' });
    clock.advance(1000);
    await eventually(async () => (await tg.timers('faulty', 'f2'))[0]?.status === 'stale', 20_000, 'the timer marked stale');
    expect(await tg.metricsText()).toMatch(/tollgate_timers_stale_total\{machine="faulty",reason="machine_fault"\} 1/);
    expect(await tg.rejections('faulty', 'f2')).toMatchObject([{ code: 'TG_MACHINE_FAULT', state: 'armed', message: expect.stringMatching(/timer assign exploded/) }]);
    expect(await tg.get('faulty', 'f2')).toMatchObject({ state: 'armed', version: 2 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await tg.rejections('faulty', 'f2')).toHaveLength(1); // not retried
  }, 60_000);
});
