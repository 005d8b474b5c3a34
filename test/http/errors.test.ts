import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { ManualClock, TollgateError, type Tollgate } from '../../src/index.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { fastifyPath } from '../../src/http/route.ts';
import { registeredRoutes } from '../../src/http/server.ts';
import { bearer, expectProblem, keys, testApi } from './support.ts';

const admin = bearer(keys.admin);
const json = { ...admin, 'content-type': 'application/json' };

describe('HTTP request errors', () => {
  const backend = backends()[0] ?? 'pglite';
  let shared: Promise<Tollgate<typeof machines>> | undefined;
  const runtime = () => (shared ??= testRuntime(backend, { machines }));

  it('refuses oversize, malformed, wrongly typed and unstorable bodies with 4xx problems and writes nothing', async () => {
    const tg = await runtime();
    const { app } = await testApi(backend, { bodyLimit: 2048 }, tg);
    await tg.create('subscription', 'b1', { customerId: 'c', plan: 'pro' });
    const url = '/v1/entities/subscription/b1/events';
    const send = (payload: string, headers: Record<string, string> = json) => app.inject({ method: 'POST', url, headers, payload });

    const big = expectProblem(await send(JSON.stringify({ type: 'CANCEL', reason: 'x'.repeat(4000) })), 'TG_PAYLOAD_TOO_LARGE');
    expect(big.detail).toContain('2048');
    expect(expectProblem(await send('{"type": "CANCEL",'), 'TG_BAD_REQUEST').detail).toMatch(/JSON/);
    expectProblem(await send(''), 'TG_BAD_REQUEST');
    expectProblem(await send('type=CANCEL', { ...admin, 'content-type': 'application/x-www-form-urlencoded' }), 'TG_UNSUPPORTED_MEDIA_TYPE');
    expectProblem(await send('CANCEL', { ...admin, 'content-type': 'text/plain' }), 'TG_UNSUPPORTED_MEDIA_TYPE');
    expectProblem(await send('{"type":"CANCEL","__proto__":{"x":1}}'), 'TG_BAD_REQUEST');
    expectProblem(await send('{"type":"CANCEL","reason":"a\\u0000b"}'), 'TG_BAD_REQUEST');
    expectProblem(await send('{"type":"CANCEL","reason":"\\ud800"}'), 'TG_BAD_REQUEST');
    expectProblem(await send(`{"type":"CANCEL","reason":${'['.repeat(100)}${']'.repeat(100)}}`), 'TG_BAD_REQUEST');
    expectProblem(await send('[1,2]'), 'TG_INVALID_EVENT');
    expectProblem(await send('"CANCEL"'), 'TG_INVALID_EVENT');
    expectProblem(await send('{"type":42}'), 'TG_INVALID_EVENT');
    expectProblem(await send('{"type":"CANCEL","reason":7}'), 'TG_INVALID_EVENT');
    expect((await tg.get('subscription', 'b1')).version).toBe(1);

    const ok = await send('{"type":"CANCEL","reason":"😀 ünïcode"}');
    expect(ok.statusCode).toBe(200);
  });

  it('answers unknown routes and over-long or odd ids with problems, and carries the request id everywhere', async () => {
    const { app } = await testApi(backend, {}, await runtime());
    const missing = await app.inject({ url: '/v2/nothing', headers: { 'x-request-id': 'trace-123' } });
    expect(expectProblem(missing, 'TG_NOT_FOUND').requestId).toBe('trace-123');
    expect(missing.headers['x-request-id']).toBe('trace-123');
    expectProblem(await app.inject({ method: 'DELETE', url: '/v1/entities/subscription/x', headers: admin }), 'TG_NOT_FOUND');

    const long = await app.inject({ url: `/v1/entities/subscription/${'a'.repeat(500)}`, headers: admin });
    expect(expectProblem(long, 'TG_INVALID_ARGUMENT').detail).toContain('200');
    expectProblem(await app.inject({ url: '/v1/entities/subscription/a%00b', headers: admin }), 'TG_INVALID_ARGUMENT');
    expectProblem(await app.inject({ url: `/v1/entities/subscription/${encodeURIComponent("1' OR '1'='1")}`, headers: admin }), 'TG_ENTITY_NOT_FOUND');
    expectProblem(await app.inject({ url: '/v1/entities/subscription/%E0%A4%A', headers: admin }), 'TG_BAD_REQUEST');

    const ok = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id with spaces' } });
    expect(ok.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('adds Retry-After to TG_VERSION_CONFLICT and hides unexpected errors behind TG_INTERNAL', async () => {
    const tg = await runtime();
    const failing = (error: Error): Tollgate<typeof machines> => ({ ...tg, send: async () => Promise.reject(error) });
    const { app } = await testApi(backend, {}, failing(new TollgateError('TG_VERSION_CONFLICT', 'changed 6 times', { machine: 'subscription' })));
    const conflict = await app.inject({ method: 'POST', url: '/v1/entities/subscription/x/events', headers: admin, payload: { type: 'CANCEL' } });
    expect(expectProblem(conflict, 'TG_VERSION_CONFLICT')).toMatchObject({ retryable: true, machine: 'subscription' });
    expect(conflict.headers['retry-after']).toBe('1');

    const { app: broken } = await testApi(backend, {}, failing(new Error('secret connection string postgres://u:p@h')));
    const internal = await broken.inject({ method: 'POST', url: '/v1/entities/subscription/x/events', headers: admin, payload: { type: 'CANCEL' } });
    const body = expectProblem(internal, 'TG_INTERNAL');
    expect(JSON.stringify(body)).not.toContain('secret');
  });

  it('rate-limits per key with Retry-After, and recovers as time passes', async () => {
    const clock = new ManualClock(0);
    const { app } = await testApi(backend, { rateLimit: { perSecond: 1, burst: 2 }, clock }, await runtime());
    const get = (key: string) => app.inject({ url: '/v1/machines', headers: bearer(key) });
    expect((await get(keys.read)).statusCode).toBe(200);
    expect((await get(keys.read)).statusCode).toBe(200);
    const limited = await get(keys.read);
    expectProblem(limited, 'TG_RATE_LIMITED');
    expect(limited.headers['retry-after']).toBe('1');
    expect((await get(keys.write)).statusCode).toBe(200); // another key has its own bucket
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200); // health is never limited
    clock.advance(1000);
    expect((await get(keys.read)).statusCode).toBe(200);
  });

  it('documents every registered route in /openapi.json, generated from the zod schemas', async () => {
    const tg = await runtime();
    const { app } = await testApi(backend, {}, tg);
    const registered = [...registeredRoutes(app)];
    const response = await app.inject({ url: '/openapi.json' });
    const doc = response.json() as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown>; parameters?: unknown[] }>> };
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${fastifyPath(path)}`),
    );
    expect(registered.length).toBeGreaterThanOrEqual(13);
    expect(documented.sort()).toEqual(registered.sort());
    const send = doc.paths['/v1/entities/{machine}/{id}/events']?.post;
    expect(Object.keys(send?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '409', '413', '415', '422', '429']));
    // Every operation documents the answers any request can get: a bug (500) and the parser's refusals (400, 408, 431).
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['400', '408', '431', '500']));
    }
    // A body the route validates is refused with TG_INVALID_ARGUMENT, documented even where no parameter is (a freeze).
    const freeze = await app.inject({ method: 'POST', url: '/v1/freezes', headers: { ...bearer(keys.admin), 'content-type': 'application/json' }, payload: '{"reason":"r"}' });
    expectProblem(freeze, 'TG_INVALID_ARGUMENT');
    const freezeRefusals = (doc.paths['/v1/freezes']?.post?.responses['400'] as { description: string }).description.split(', ');
    expect(freezeRefusals).toContain('TG_INVALID_ARGUMENT');
    const self = doc.paths['/openapi.json']?.get?.responses['200'] as { content: Record<string, { schema: { type?: string } }> };
    expect(self.content['application/json']?.schema.type).toBe('object');
    // HEAD is not documented, so it is not answered either.
    const head = await app.inject({ method: 'HEAD', url: '/healthz' });
    expect(head.statusCode).toBe(404);
    expect(head.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(send?.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'machine', in: 'path', schema: expect.objectContaining({ enum: ['subscription', 'order', 'payout'] }) })]),
    );
  });
});
