import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import type { AnyMachineDefinition } from '../../src/engine/definition.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { baseContext } from '../fixtures/import-records.ts';
import { bearer, keys, testApi } from '../http/support.ts';

const context = baseContext(machines.subscription as AnyMachineDefinition, 'subscription');
const shadowed = { ...(machines.subscription as AnyMachineDefinition), mode: 'shadow' as const };

describe('shadow mode over HTTP', () => {
  const backend = backends()[0] ?? 'pglite';

  it('observations answer 201 with the verdict (200 on a repeated key), 400 malformed, 409 once enforced; modes switch as admin; the report', async () => {
    const tg = await testRuntime(backend, { machines: { ...machines, subscription: shadowed } });
    const { app } = await testApi(backend, {}, tg as unknown as Parameters<typeof testApi>[2]);
    const write = bearer(keys.write);
    const admin = bearer(keys.admin);
    await tg.import('subscription', [{ id: 'h1', state: 'grace', context }]);
    const url = '/v1/entities/subscription/h1/observations';
    const report = { event: 'PAYMENT_FAILED', from: 'grace', to: 'grace', at: '2026-11-29T10:00:00Z' };

    const first = await app.inject({ method: 'POST', url, headers: { ...write, 'idempotency-key': 'row-1' }, payload: report });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ verdict: 'illegal', code: 'TG_ILLEGAL_TRANSITION', key: 'row-1', mirrorState: 'grace', replayed: false });
    const again = await app.inject({ method: 'POST', url, headers: { ...write, 'idempotency-key': 'row-1' }, payload: report });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: first.json<{ id: number }>().id, replayed: true });

    for (const payload of [{ ...report, to: 'nowhere' }, { ...report, at: 'soon' }, [], { event: 'PAYMENT_FAILED' }]) {
      const refused = await app.inject({ method: 'POST', url, headers: write, payload });
      expect(refused.statusCode, JSON.stringify(payload)).toBe(400);
      expect(refused.json()).toMatchObject({ code: 'TG_INVALID_OBSERVATION' });
    }
    const send = await app.inject({ method: 'POST', url: '/v1/entities/subscription/h1/events', headers: write, payload: { type: 'PAYMENT_SUCCEEDED' } });
    expect(send.statusCode).toBe(409);
    expect(send.json()).toMatchObject({ code: 'TG_MACHINE_SHADOWED' });
    // A machine in enforce mode (order: its definition's default) refuses observations.
    const enforced = await app.inject({ method: 'POST', url: '/v1/entities/order/o1/observations', headers: write, payload: { event: 'PAY', to: 'paid', at: '2026-11-29T10:00:00Z' } });
    expect(enforced.json()).toMatchObject({ status: 409, code: 'TG_MACHINE_ENFORCED' });

    const listed = await app.inject({ method: 'GET', url, headers: bearer(keys.read) });
    expect(listed.json()).toMatchObject({ items: [{ verdict: 'illegal', event: 'PAYMENT_FAILED' }] });
    const shadowReport = await app.inject({ method: 'GET', url: '/v1/machines/subscription/shadow-report?since=30d', headers: bearer(keys.read) });
    expect(shadowReport.json()).toMatchObject({ machine: 'subscription', mode: 'shadow', lines: [{ verdict: 'illegal', from: 'grace', event: 'PAYMENT_FAILED', to: 'grace', count: 1, exampleIds: ['h1'] }] });

    expect((await app.inject({ method: 'POST', url: '/v1/modes/subscription:switch', headers: write, payload: { mode: 'enforce', reason: 'x' } })).statusCode).toBe(403);
    const switched = await app.inject({ method: 'POST', url: '/v1/modes/subscription:switch', headers: admin, payload: { mode: 'enforce', reason: 'report clean' } });
    expect(switched.json()).toMatchObject({ machine: 'subscription', from: 'shadow', to: 'enforce', actor: 'operator', reason: 'report clean' });
    const modes = await app.inject({ method: 'GET', url: '/v1/modes?machine=subscription', headers: bearer(keys.read) });
    expect(modes.json()).toMatchObject({ items: [{ machine: 'subscription', mode: 'enforce', source: 'switch' }], switches: [{ from: 'shadow', to: 'enforce' }] });
    const now = await app.inject({ method: 'POST', url, headers: write, payload: report });
    expect(now.json()).toMatchObject({ status: 409, code: 'TG_MACHINE_ENFORCED' });
    expect((await app.inject({ method: 'POST', url: '/v1/entities/subscription/h1/events', headers: write, payload: { type: 'PAYMENT_SUCCEEDED' } })).statusCode).toBe(200);

    // The OpenAPI document names every answer of the new route.
    const openapi = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>();
    const responses = Object.keys(openapi.paths['/v1/entities/{machine}/{id}/observations']?.post?.responses ?? {}).sort();
    expect(responses).toEqual(expect.arrayContaining(['200', '201', '400', '404', '409']));
  }, 60_000);
});
