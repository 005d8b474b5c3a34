import { describe, expect, it } from 'vitest';
import { machines, policies } from '../../machines/index.ts';
import { postgresAvailable, testRuntime } from '../support/databases.ts';
import { bearer, keys, testApi } from '../http/support.ts';

describe.runIf(postgresAvailable())('governance routes', () => {
  it('freezes and lifts over HTTP (423 with the freeze in the problem), lists and switches policies', async () => {
    const tg = await testRuntime('postgres', { machines, policies });
    const { app } = await testApi('postgres', {}, tg);
    const admin = bearer(keys.admin);
    await tg.create('subscription', 'h1', { customerId: 'h1', plan: 'pro' });

    expect((await app.inject({ method: 'POST', url: '/v1/freezes', headers: bearer(keys.write), payload: { machine: 'subscription', reason: 'x' } })).statusCode).toBe(403);
    const created = await app.inject({ method: 'POST', url: '/v1/freezes', headers: admin, payload: { machine: 'subscription', events: ['UPGRADE'], reason: 'incident 9' } });
    expect(created.statusCode).toBe(201);
    const freeze = created.json<{ id: string; createdBy: string }>();
    expect(freeze.createdBy).toBe('operator');

    const refused = await app.inject({ method: 'POST', url: '/v1/entities/subscription/h1/events', headers: bearer(keys.write), payload: { type: 'UPGRADE', paymentMethodId: 'pm' } });
    expect(refused.statusCode).toBe(423);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.json()).toMatchObject({ code: 'TG_FROZEN', retryable: true, freezeId: freeze.id, reason: 'incident 9', until: null });

    const listed = await app.inject({ method: 'GET', url: '/v1/freezes', headers: bearer(keys.read) });
    expect(listed.json()).toMatchObject({ items: [{ id: freeze.id, active: true }] });
    const lifted = await app.inject({ method: 'DELETE', url: `/v1/freezes/${freeze.id}?reason=done`, headers: admin });
    expect(lifted.json()).toMatchObject({ id: freeze.id, liftedBy: 'operator', liftReason: 'done', active: false });
    expect((await app.inject({ method: 'DELETE', url: '/v1/freezes/frz_none?reason=x', headers: admin })).json()).toMatchObject({ code: 'TG_FREEZE_NOT_FOUND' });
    expect((await app.inject({ method: 'POST', url: '/v1/entities/subscription/h1/events', headers: bearer(keys.write), payload: { type: 'UPGRADE', paymentMethodId: 'pm' } })).statusCode).toBe(200);

    const before = await app.inject({ method: 'GET', url: '/v1/policies?machine=payout', headers: bearer(keys.read) });
    expect(before.json()).toMatchObject({ items: [{ machine: 'payout', active: '2026-12-01-standard', registered: ['2026-11-01-strict', '2026-12-01-standard'] }] });
    const switched = await app.inject({ method: 'POST', url: '/v1/policies/payout:activate', headers: admin, payload: { version: '2026-11-01-strict', reason: 'regulator hold' } });
    expect(switched.json()).toMatchObject({ machine: 'payout', from: '2026-12-01-standard', to: '2026-11-01-strict', actor: 'operator', reason: 'regulator hold' });
    const openapi = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
    expect(Object.keys(openapi.paths['/v1/freezes/{id}'] ?? {})).toEqual(['delete']);
  });
});
