import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import type { ServerOptions } from '../../src/http/server.ts';
import type { Tollgate } from '../../src/index.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { bearer, expectProblem, keys, testApi } from './support.ts';

const admin = bearer(keys.admin);
const sub = { customerId: 'c-1', plan: 'pro' };
const order = { orderId: 'o', customerId: 'c-1', amountCents: 500 };

describe.each(backends())('HTTP routes on %s', (backend) => {
  // One runtime for the tests that use ids of their own (a PGlite start costs seconds); listing gets its own.
  let shared: Promise<Tollgate<typeof machines>> | undefined;
  const api = async (options: Partial<ServerOptions> = {}) => testApi(backend, options, await (shared ??= testRuntime(backend, { machines })));

  it('creates an entity (201), replays a create by key (200) and refuses duplicates and bad input', async () => {
    const { app } = await api();
    const post = (body: unknown, key?: string) =>
      app.inject({ method: 'POST', url: '/v1/entities/subscription', headers: { ...admin, ...(key ? { 'idempotency-key': key } : {}) }, payload: body as object });

    const created = await post({ id: 'c-s1', input: sub }, 'c1');
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ machine: 'subscription', id: 'c-s1', state: 'trial', value: 'trial', version: 1, replayed: false });
    expect(created.json().nextEvents).toEqual(expect.arrayContaining(['UPGRADE', 'CANCEL']));

    const replayed = await post({ id: 'c-s1', input: sub }, 'c1');
    expect(replayed.statusCode).toBe(200);
    expect(replayed.json()).toMatchObject({ id: 'c-s1', replayed: true, version: 1 });

    expectProblem(await post({ id: 'c-s1', input: { ...sub, plan: 'basic' } }, 'c1'), 'TG_IDEMPOTENCY_KEY_REUSED');
    expectProblem(await post({ id: 'c-s1', input: sub }), 'TG_ENTITY_EXISTS');
    const invalid = expectProblem(await post({ id: 'c-s2', input: { plan: 'pro' } }), 'TG_INVALID_INPUT');
    expect(invalid).toMatchObject({ machine: 'subscription', entityId: 'c-s2', field: 'customerId' });
    expectProblem(await post({ id: 'c-s3', input: sub, extra: 1 }), 'TG_INVALID_ARGUMENT');
    expectProblem(await post({ input: sub }), 'TG_INVALID_ARGUMENT');
    expectProblem(await post({ id: 'x'.repeat(201), input: sub }), 'TG_INVALID_ARGUMENT');
    const unknown = await app.inject({ method: 'POST', url: '/v1/entities/nope', headers: admin, payload: { id: 'a', input: {} } });
    expectProblem(unknown, 'TG_UNKNOWN_MACHINE');
  });

  it('sends events through the gate: commits, replays by Idempotency-Key, refuses with coded problems', async () => {
    const { app, tg } = await api();
    await tg.create('subscription', 'e-s1', sub);
    const send = (event: unknown, key?: string, id = 'e-s1') =>
      app.inject({
        method: 'POST',
        url: `/v1/entities/subscription/${id}/events`,
        headers: { ...bearer(keys.write), ...(key ? { 'idempotency-key': key } : {}) },
        payload: event as object,
      });

    const upgraded = await send({ type: 'UPGRADE', paymentMethodId: 'pm_1' }, 'k1');
    expect(upgraded.statusCode).toBe(200);
    const body = upgraded.json();
    expect(body).toMatchObject({ replayed: false, entity: { state: 'active', version: 2 }, transition: { seq: 2, eventType: 'UPGRADE', actor: 'writer', idempotencyKey: 'k1' } });

    const again = await send({ type: 'UPGRADE', paymentMethodId: 'pm_1' }, 'k1');
    expect(again.json()).toMatchObject({ replayed: true, transition: { id: body.transition.id } });
    expectProblem(await send({ type: 'UPGRADE', paymentMethodId: 'pm_2' }, 'k1'), 'TG_IDEMPOTENCY_KEY_REUSED');

    const illegal = expectProblem(await send({ type: 'RESUME' }), 'TG_ILLEGAL_TRANSITION');
    expect(illegal).toMatchObject({ machine: 'subscription', entityId: 'e-s1', state: 'active', event: 'RESUME' });
    expect(illegal.detail).toContain('That state accepts');
    expectProblem(await send({ type: 'NOPE' }), 'TG_INVALID_EVENT');
    expectProblem(await send({ type: 'UPGRADE' }), 'TG_INVALID_EVENT');
    expectProblem(await send({ type: 'CANCEL' }, 'k'.repeat(201)), 'TG_INVALID_ARGUMENT');
    expectProblem(await send({ type: 'CANCEL' }, undefined, 'missing'), 'TG_ENTITY_NOT_FOUND');
    expectProblem(await send({ type: 'CANCEL' }, undefined, 'i'.repeat(201)), 'TG_INVALID_ARGUMENT');

    await tg.create('order', 'e-o1', order);
    const guard = await app.inject({ method: 'POST', url: '/v1/entities/order/e-o1/events', headers: admin, payload: { type: 'PAY', paymentId: 'p', amountCents: 1 } });
    expectProblem(guard, 'TG_GUARD_REJECTED');
    expect((await tg.get('subscription', 'e-s1')).version).toBe(2);
  });

  it('reads an entity, its paginated history and its effects; 404 for an entity that does not exist', async () => {
    const { app, tg } = await api();
    await tg.create('subscription', 'r-s1', sub);
    await tg.send('subscription', 'r-s1', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await tg.send('subscription', 'r-s1', { type: 'PAUSE' });

    const entity = await app.inject({ url: '/v1/entities/subscription/r-s1', headers: bearer(keys.read) });
    expect(entity.statusCode).toBe(200);
    expect(entity.json()).toMatchObject({ value: { paused: 'idle' }, state: 'paused.idle', version: 3, status: 'active', nextEvents: expect.arrayContaining(['RESUME', 'CANCEL']) });
    expect(entity.json().stateEnteredAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    const first = await app.inject({ url: '/v1/entities/subscription/r-s1/transitions?limit=2', headers: admin });
    expect(first.json().items.map((t: { seq: number }) => t.seq)).toEqual([1, 2]);
    expect(first.json().nextAfterSeq).toBe(2);
    const second = await app.inject({ url: '/v1/entities/subscription/r-s1/transitions?afterSeq=2&limit=2', headers: admin });
    expect(second.json()).toMatchObject({ items: [{ seq: 3, eventType: 'PAUSE', fromState: 'active', toState: 'paused.idle' }], nextAfterSeq: null });
    expectProblem(await app.inject({ url: '/v1/entities/subscription/r-s1/transitions?limit=0', headers: admin }), 'TG_INVALID_ARGUMENT');
    expectProblem(await app.inject({ url: '/v1/entities/subscription/r-s1/transitions?limit=abc', headers: admin }), 'TG_INVALID_ARGUMENT');

    const effects = await app.inject({ url: '/v1/entities/subscription/r-s1/effects', headers: admin });
    expect(effects.json().items.map((e: { type: string }) => e.type)).toEqual(['chargePayment', 'sendEmail']);
    expect(effects.json().items[0]).toMatchObject({ status: expect.stringMatching(/pending|dispatched|completed/), params: { reason: 'upgrade' } });

    for (const path of ['', '/transitions', '/effects']) {
      expectProblem(await app.inject({ url: `/v1/entities/subscription/ghost${path}`, headers: admin }), 'TG_ENTITY_NOT_FOUND');
    }
    expectProblem(await app.inject({ url: '/v1/entities/nope/x', headers: admin }), 'TG_UNKNOWN_MACHINE');
  });

  it('lists entities by state prefix (nested and parallel) with keyset pagination', async () => {
    const { app, tg } = await testApi(backend);
    for (const id of ['a', 'b', 'c', 'd', 'e']) await tg.create('subscription', id, sub);
    for (const id of ['b', 'd']) {
      await tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm' });
      await tg.send('subscription', id, { type: 'PAUSE' });
    }
    await tg.create('order', 'o1', order);
    await tg.send('order', 'o1', { type: 'PAY', paymentId: 'p', amountCents: 500 });
    await tg.create('order', 'o2', order);

    const list = async (query: string, machine = 'subscription') => {
      const response = await app.inject({ url: `/v1/entities/${machine}${query}`, headers: admin });
      expect(response.statusCode).toBe(200);
      return response.json() as { items: Array<{ id: string; state: string }>; nextCursor: string | null };
    };
    expect((await list('')).items.map((e) => e.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect((await list('?state=paused')).items.map((e) => e.id)).toEqual(['b', 'd']);
    expect((await list('?state=paused.idle')).items.map((e) => e.id)).toEqual(['b', 'd']);
    expect((await list('?state=pause')).items).toEqual([]);
    expect((await list('?state=%25')).items).toEqual([]); // a LIKE wildcard is a literal
    expect((await list('?state=trial')).items.map((e) => e.id)).toEqual(['a', 'c', 'e']);
    expect((await list('?state=paid.shipment', 'order')).items.map((e) => e.id)).toEqual(['o1']);
    expect((await list('?state=paid.invoicing.draft', 'order')).items.map((e) => e.id)).toEqual(['o1']);
    expect((await list('?state=pending', 'order')).items.map((e) => e.id)).toEqual(['o2']);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']);
    // An id prefix: a literal prefix (not a pattern), bounded below by itself, combined with a state.
    for (const id of ['ab', 'abc', 'b%']) await tg.create('subscription', id, sub);
    expect((await list('?idPrefix=a')).items.map((e) => e.id)).toEqual(['a', 'ab', 'abc']);
    expect((await list('?idPrefix=ab')).items.map((e) => e.id)).toEqual(['ab', 'abc']);
    expect((await list('?idPrefix=b%25')).items.map((e) => e.id)).toEqual(['b%']);
    expect((await list('?idPrefix=b&state=paused')).items.map((e) => e.id)).toEqual(['b']);
    expect((await list('?idPrefix=zz')).items).toEqual([]);
    expectProblem(await app.inject({ url: '/v1/entities/subscription?cursor=!!', headers: admin }), 'TG_INVALID_ARGUMENT');
    expectProblem(await app.inject({ url: '/v1/entities/subscription?limit=501', headers: admin }), 'TG_INVALID_ARGUMENT');
    expectProblem(await app.inject({ url: '/v1/entities/subscription?bogus=1', headers: admin }), 'TG_INVALID_ARGUMENT');
  });

  it('dry-runs an event: the would-be target, effects and timers, or the refusal; writes and records nothing', async () => {
    const { app, tg } = await api();
    await tg.create('subscription', 'd-s1', sub);
    const dry = (event: unknown) =>
      app.inject({ method: 'POST', url: '/v1/entities/subscription/d-s1/events:dry-run', headers: bearer(keys.read), payload: event as object });

    const upgrade = await dry({ type: 'UPGRADE', paymentMethodId: 'pm_1' });
    expect(upgrade.statusCode).toBe(200);
    expect(upgrade.json()).toMatchObject({
      accepted: true,
      from: { state: 'trial', version: 1 },
      to: { state: 'active', status: 'active', context: { paymentMethodId: 'pm_1' } },
      effects: [{ type: 'chargePayment', params: { reason: 'upgrade', paymentMethodId: 'pm_1' } }],
      cancels: ['xstate.after.trialPeriod.subscription.trial'],
    });
    const cancel = await dry({ type: 'CANCEL' });
    expect(cancel.json()).toMatchObject({ to: { state: 'canceled', status: 'done' }, nextEvents: [] });

    const illegal = expectProblem(await dry({ type: 'RESUME' }), 'TG_ILLEGAL_TRANSITION');
    expect(illegal).toMatchObject({ dryRun: true, state: 'trial' });
    expectProblem(await dry({ type: 'UPGRADE' }), 'TG_INVALID_EVENT');
    expectProblem(await app.inject({ method: 'POST', url: '/v1/entities/subscription/zz/events:dry-run', headers: admin, payload: { type: 'CANCEL' } }), 'TG_ENTITY_NOT_FOUND');

    expect((await tg.get('subscription', 'd-s1')).version).toBe(1);
    expect(await tg.history('subscription', 'd-s1')).toHaveLength(1);
    expect(await tg.rejections('subscription', 'd-s1')).toEqual([]);
    expect(await tg.effects('subscription', 'd-s1')).toEqual([]);
  });

  it('lists machines and describes one with its schemas and definition', async () => {
    const { app } = await api();
    const list = await app.inject({ url: '/v1/machines', headers: bearer(keys.read) });
    expect(list.json().items.map((m: { name: string }) => m.name)).toEqual(['subscription', 'order', 'payout']);
    const one = (await app.inject({ url: '/v1/machines/subscription', headers: bearer(keys.read) })).json();
    expect(one).toMatchObject({ name: 'subscription', version: 1, initial: 'trial', compensations: { chargePayment: 'PAYMENT_FAILED' } });
    expect(one.states).toEqual(expect.arrayContaining(['trial', 'paused', 'paused.idle', 'paused.resuming', 'canceled']));
    expect(one.effects).toEqual(['chargePayment', 'sendEmail']);
    expect(one.eventSchemas.UPGRADE).toMatchObject({ type: 'object', required: ['paymentMethodId'] });
    expect(one.inputSchema).toMatchObject({ type: 'object', required: ['customerId', 'plan'] });
    expect(one.definition).toMatchObject({ id: 'subscription', states: { trial: { id: 'subscription.trial' } } });
    expectProblem(await app.inject({ url: '/v1/machines/nope', headers: admin }), 'TG_UNKNOWN_MACHINE');
    const limited = await app.inject({ url: '/v1/machines', headers: bearer(keys.subscriptionOnly) });
    expect(limited.json().items.map((m: { name: string }) => m.name)).toEqual(['subscription']);
  });

  it('draws a machine with how many entities are in each state now (the inspector)', async () => {
    const tg = await testRuntime(backend, { machines });
    const { app } = await testApi(backend, {}, tg);
    for (const id of ['d1', 'd2', 'd3', 'd4']) await tg.create('subscription', id, sub);
    await tg.send('subscription', 'd3', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await tg.send('subscription', 'd4', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await tg.send('subscription', 'd4', { type: 'PAUSE' });
    const diagram = (await app.inject({ url: '/v1/machines/subscription/diagram', headers: bearer(keys.read) })).json();
    expect(diagram).toMatchObject({ name: 'subscription', version: 1, entities: 4, stateCounts: { trial: 2, active: 1, 'paused.idle': 1 } });
    expect(diagram.mermaid).toContain('state "trial (2)" as trial');
    expect(diagram.mermaid).toContain('state "active (1)" as active');
    expect(diagram.mermaid).toContain('state "idle (1)" as idle');
    expect(diagram.mermaid).toContain('state "resuming (0)" as resuming');
    // An order in the parallel state counts in the leaf state of each region.
    await tg.create('order', 'o1', { orderId: 'o1', customerId: 'c', amountCents: 100 });
    await tg.send('order', 'o1', { type: 'PAY', paymentId: 'p1', amountCents: 100 });
    const order = (await app.inject({ url: '/v1/machines/order/diagram', headers: bearer(keys.read) })).json();
    expect(order.entities).toBe(1);
    expect(order.mermaid).toMatch(/state "awaiting \(1\)" as /);
    expect(order.mermaid).toMatch(/state "draft \(1\)" as /);
    expect(order.mermaid).toMatch(/state "pending \(0\)" as /);
    expectProblem(await app.inject({ url: '/v1/machines/nope/diagram', headers: admin }), 'TG_UNKNOWN_MACHINE');
  });

  it('answers health, readiness and metrics; readiness fails with TG_NOT_READY when a check fails', async () => {
    const { app, tg } = await api({ readiness: { redis: async () => {} } });
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
    await tg.create('subscription', 'h-m1', sub);
    const metrics = await app.inject({ url: '/metrics', headers: admin });
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toContain('tollgate_transitions_total');

    const { app: down } = await api({
      readiness: {
        redis: async () => {
          throw new Error('connection refused');
        },
      },
    });
    const notReady = expectProblem(await down.inject({ url: '/readyz' }), 'TG_NOT_READY');
    expect(notReady.detail).toContain('redis');
    expect((await down.inject({ url: '/readyz' })).headers['retry-after']).toBe('5');
  });
});
