import { createWebSocketInspector } from '@statelyai/inspect';
import { describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { machines } from '../../machines/index.ts';
import { ManualClock } from '../../src/clock.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { testRuntime } from '../support/databases.ts';
import { bearer, expectProblem, keys, testApi } from './support.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

const admin = bearer(keys.admin);
const read = bearer(keys.read);
const sub = { customerId: 'c-1', plan: 'pro' };
const HOUR = 3_600_000;

/** Reads server-sent events from `url` until `until` says stop (or `ms` pass); returns what came. */
async function readEvents(url: string, until: (events: Array<{ event: string; data: unknown }>) => boolean, ms = 5000, onOpen?: () => Promise<void>) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  const events: Array<{ event: string; data: unknown }> = [];
  try {
    const response = await fetch(url, { headers: read, signal: controller.signal });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await onOpen?.();
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
      if (until(events)) break;
    }
  } catch (error) {
    if ((error as Error).name !== 'AbortError') throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

describe('the HTTP the inspector needs (Postgres)', () => {
  it('answers stats: counts per state path, stuck over maxDwell, refusals per (state, event), effects per state', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const tg = await testRuntime('postgres', { machines, clock });
    const { app } = await testApi('postgres', {}, tg);
    for (const id of ['a', 'b', 'c']) await tg.create('subscription', id, sub);
    await tg.send('subscription', 'b', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await tg.send('subscription', 'c', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await tg.send('subscription', 'c', { type: 'PAUSE' });
    await tg.send('subscription', 'c', { type: 'RESUME' });
    clock.advance(2 * HOUR); // c has been in paused.resuming (maxDwell 1 h) for 2 h
    await expect(tg.send('subscription', 'a', { type: 'RESUME' })).rejects.toThrow();

    const response = await app.inject({ url: '/v1/machines/subscription/stats', headers: read });
    expect(response.statusCode).toBe(200);
    const stats = response.json();
    expect(stats).toMatchObject({ machine: 'subscription', entities: 3, stateCounts: { trial: 1, active: 1, 'paused.resuming': 1 }, refusalWindowMinutes: 15 });
    // Freezes in force are part of the stats (the inspector shows them above the machine).
    expect(stats.freezes).toEqual([]);
    const freeze = await tg.governance.freeze({ machine: 'subscription', states: ['paused'], except: ['CANCEL'], reason: 'incident 7', actor: 'ops' });
    const frozen = (await app.inject({ url: '/v1/machines/subscription/stats', headers: read })).json();
    expect(frozen.freezes).toEqual([{ id: freeze.id, machine: 'subscription', events: null, states: ['paused'], except: ['CANCEL'], reason: 'incident 7', until: null }]);
    await tg.governance.unfreeze(freeze.id, { actor: 'ops', reason: 'incident over' });
    expect(stats.states.paused.count).toBe(1);
    expect(stats.states['paused.resuming'].count).toBe(1);
    expect(stats.states['paused.idle'].count).toBe(0);
    expect(stats.states.canceled.count).toBe(0);
    expect(stats.states['paused.resuming'].stuck).toEqual({ count: 1, maxOverMs: HOUR });
    expect(stats.states.active.stuck).toBeNull(); // no maxDwell
    expect(stats.states.trial.refusals).toEqual([{ event: 'RESUME', code: 'TG_ILLEGAL_TRANSITION', count: 1 }]);
    // Each upgrade charged (active), the resume charged (paused.resuming): no worker runs here, so all pending.
    expect(stats.states.active.effects).toEqual({ pending: 2, dispatched: 0, failed: 0 });
    expect(stats.states['paused.resuming'].effects.pending).toBe(1);
    clock.advance(16 * 60_000);
    expect((await tg.machineStats('subscription')).states.trial?.refusals).toEqual([]); // out of the 15-minute window
    expectProblem(await app.inject({ url: '/v1/machines/nope/stats', headers: read }), 'TG_UNKNOWN_MACHINE');
  });

  it('lists timers and refusals; retries a failed effect (admin, recorded with who and why), nothing else', async () => {
    const tg = await testRuntime('postgres', { machines });
    const { app } = await testApi('postgres', {}, tg);
    await tg.create('subscription', 't1', sub);
    const timers = await app.inject({ url: '/v1/entities/subscription/t1/timers', headers: read });
    expect(timers.json().items).toEqual([expect.objectContaining({ eventType: expect.stringContaining('xstate.after.trialPeriod'), status: 'scheduled' })]);
    await app.inject({ method: 'POST', url: '/v1/entities/subscription/t1/events', headers: admin, payload: { type: 'RESUME' } });
    const refusals = await app.inject({ url: '/v1/entities/subscription/t1/rejections', headers: read });
    expect(refusals.json().items).toEqual([expect.objectContaining({ code: 'TG_ILLEGAL_TRANSITION', state: 'trial', eventType: 'RESUME', actor: 'operator' })]);
    expectProblem(await app.inject({ url: '/v1/entities/subscription/none/timers', headers: read }), 'TG_ENTITY_NOT_FOUND');
    expectProblem(await app.inject({ url: '/v1/entities/subscription/none/rejections', headers: read }), 'TG_ENTITY_NOT_FOUND');

    await tg.send('subscription', 't1', { type: 'UPGRADE', paymentMethodId: 'pm' });
    const [charge] = await tg.effects('subscription', 't1');
    const retry = (effectId: string, headers = admin, payload: object = { reason: 'provider outage over' }) =>
      app.inject({ method: 'POST', url: `/v1/entities/subscription/t1/effects/${effectId}:retry`, headers, payload });
    expectProblem(await retry(charge!.id), 'TG_EFFECT_NOT_FAILED'); // pending: nothing to retry
    const s = quoteIdent(testAccess(tg).schema);
    await testAccess(tg).client.query(`UPDATE ${s}.effects SET status = 'failed', attempts = 3, error = '{"message":"declined"}'::jsonb WHERE id = $1`, [charge!.id]);
    expectProblem(await retry(charge!.id, bearer(keys.write)), 'TG_FORBIDDEN');
    expectProblem(await retry(charge!.id, admin, {}), 'TG_INVALID_ARGUMENT');
    const retried = await retry(charge!.id);
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toMatchObject({ id: charge!.id, status: 'pending', attempts: 0, error: null });
    expect(retried.json().retries).toEqual([
      expect.objectContaining({ by: 'operator', reason: 'provider outage over', attempts: 3, error: { message: 'declined' }, compensated: false }),
    ]);
    expect((await tg.effects('subscription', 't1'))[0]).toMatchObject({ status: 'pending', retries: [expect.objectContaining({ by: 'operator' })] });
    expectProblem(await retry(charge!.id), 'TG_EFFECT_NOT_FAILED');
    expectProblem(await retry('no-such-effect'), 'TG_EFFECT_NOT_FOUND');
  });

  it('waits for a state (?waitFor): answers on the commit that reaches it, or 408 with the state it is in', async () => {
    const tg = await testRuntime('postgres', { machines });
    const { app } = await testApi('postgres', {}, tg);
    await tg.create('subscription', 'w1', sub);
    const now = await app.inject({ url: '/v1/entities/subscription/w1?waitFor=trial', headers: read });
    expect(now.json()).toMatchObject({ state: 'trial' });
    const waiting = app.inject({ url: '/v1/entities/subscription/w1?waitFor=paused&timeoutMs=10000', headers: read });
    await new Promise((r) => setTimeout(r, 100));
    await tg.send('subscription', 'w1', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await tg.send('subscription', 'w1', { type: 'PAUSE' });
    const reached = await waiting;
    expect(reached.statusCode).toBe(200);
    expect(reached.json()).toMatchObject({ state: 'paused.idle' });
    const timedOut = expectProblem(await app.inject({ url: '/v1/entities/subscription/w1?waitFor=canceled&timeoutMs=200', headers: read }), 'TG_WAIT_TIMEOUT');
    expect(timedOut).toMatchObject({ state: 'paused.idle', waitFor: 'canceled', retryable: true });
  });

  it('streams committed transitions (SSE): its own at once, another process\'s through the shared history tail', async () => {
    const tg = await testRuntime('postgres', { machines });
    const other = await testRuntime('postgres', { machines, schema: testAccess(tg).schema }); // another process's runtime
    const { app } = await testApi('postgres', {}, tg);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    await tg.create('subscription', 's1', sub);

    const started = Date.now();
    const events = await readEvents(
      `${base}/v1/stream?machine=subscription&stats=true`,
      (got) => got.filter((e) => e.event === 'transition').length >= 2 && got.some((e) => e.event === 'stats' && (e.data as { entities: number }).entities === 2),
      8000,
      async () => {
        await tg.send('subscription', 's1', { type: 'UPGRADE', paymentMethodId: 'pm' }); // this process
        await other.create('subscription', 's2', sub); // another process: seen by the tail
      },
    );
    const transitions = events.filter((e) => e.event === 'transition').map((e) => e.data as { entityId: string; toState: string });
    expect(transitions).toEqual([expect.objectContaining({ entityId: 's1', toState: 'active' }), expect.objectContaining({ entityId: 's2', toState: 'trial' })]);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(events.some((e) => e.event === 'stats' && (e.data as { stateCounts: Record<string, number> }).stateCounts.trial === 1)).toBe(true);

    const entityEvents = await readEvents(
      `${base}/v1/entities/subscription/s1/stream`,
      (got) => got.some((e) => e.event === 'transition'),
      5000,
      async () => {
        await other.send('subscription', 's2', { type: 'CANCEL' }); // another entity: not on this stream
        await other.send('subscription', 's1', { type: 'PAUSE' });
      },
    );
    expect(entityEvents.map((e) => e.event)).toEqual(['entity', 'transition']);
    expect(entityEvents[1]?.data).toMatchObject({ entityId: 's1', eventType: 'PAUSE', seq: 3 });
    const missing = await fetch(`${base}/v1/entities/subscription/nope/stream`, { headers: read });
    expect(missing.status).toBe(404);
  });

  it('calls createTollgate({ inspect }) after each commit with actor, event and snapshot; a WebSocket inspector carries them to /inspector/ws', async () => {
    const viewer = await testRuntime('postgres', { machines });
    const { app } = await testApi('postgres', { auth: { mode: 'open' } }, viewer);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;
    const websocket = createWebSocketInspector({ url: `ws://127.0.0.1:${port}/inspector/ws` });
    const seen: InspectionEvent[] = [];
    const tg = await testRuntime('postgres', {
      machines,
      inspect: (event: InspectionEvent) => {
        seen.push(event);
        websocket.inspect.next?.(event);
      },
    });
    try {
      await tg.create('subscription', 'i1', sub);
      await tg.send('subscription', 'i1', { type: 'UPGRADE', paymentMethodId: 'pm' });
      await expect(tg.send('subscription', 'i1', { type: 'RESUME' })).rejects.toThrow(); // refused: nothing to inspect
      expect(seen.map((e) => e.type)).toEqual(['@xstate.actor', '@xstate.event', '@xstate.snapshot', '@xstate.event', '@xstate.snapshot']);
      expect(seen.every((e) => e.actorRef.sessionId === 'tollgate:subscription:i1' && e.rootId === 'tollgate:subscription:i1')).toBe(true);
      expect(seen[3]).toMatchObject({ type: '@xstate.event', event: { type: 'UPGRADE', paymentMethodId: 'pm' } });
      expect((seen[4] as unknown as { snapshot: { value: unknown } }).snapshot.value).toBe('active');

      const events = await readEvents(
        `http://127.0.0.1:${port}/inspector/actors/stream`,
        (got) => got.some((e) => (e.data as { snapshot?: { value?: unknown } }).snapshot?.value === 'active'),
        8000,
      );
      const actor = events.at(-1)?.data as { sessionId: string; name: string; events: Array<{ type: string }>; graph: { root: { children: Array<{ path: string }> } } };
      expect(actor).toMatchObject({ sessionId: 'tollgate:subscription:i1', name: 'i1' });
      expect(actor.events.map((e) => e.type)).toEqual(['xstate.init', 'UPGRADE']);
      expect(actor.graph.root.children.map((c) => c.path)).toContain('paused'); // the machine, drawn from its definition
    } finally {
      websocket.stop();
    }
  });
});
