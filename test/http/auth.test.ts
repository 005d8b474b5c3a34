import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { generateApiKey, hashApiKey, parseApiKeys, type Access } from '../../src/http/auth.ts';
import { registeredRoutes } from '../../src/http/server.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { bearer, expectProblem, keys, testApi } from './support.ts';

// What each route needs. A route the server registers but this table lacks fails the test.
const required: Record<string, Access> = {
  'POST /v1/entities/:machine': 'write',
  'GET /v1/entities/:machine': 'read',
  'GET /v1/entities/:machine/:id': 'read',
  'GET /v1/entities/:machine/:id/transitions': 'read',
  'GET /v1/entities/:machine/:id/effects': 'read',
  'POST /v1/entities/:machine/:id/events': 'write',
  'POST /v1/entities/:machine/:id/events::dry-run': 'read',
  'GET /v1/machines': 'read',
  'GET /v1/machines/:machine': 'read',
  'GET /v1/machines/:machine/diagram': 'read',
  'GET /v1/machines/:machine/stats': 'read',
  'GET /v1/machines/:machine/graph': 'read',
  'GET /v1/entities/:machine/:id/timers': 'read',
  'GET /v1/entities/:machine/:id/rejections': 'read',
  'POST /v1/entities/:machine/:id/effects/:effectId(^[^/]+?)::retry': 'admin',
  'GET /v1/stream': 'read',
  'GET /v1/entities/:machine/:id/stream': 'read',
  'GET /inspector': 'read',
  'GET /inspector/assets/:file': 'open',
  'GET /inspector/ws': 'write',
  'GET /inspector/actors/stream': 'read',
  'GET /v1/consumers': 'admin',
  'POST /v1/consumers': 'admin',
  'GET /v1/consumers/:name': 'admin',
  'POST /v1/consumers/:name(^[^/]+?)::pause': 'admin',
  'POST /v1/consumers/:name(^[^/]+?)::resume': 'admin',
  'POST /v1/consumers/:name(^[^/]+?)::redeliver': 'admin',
  'POST /v1/consumers/:name(^[^/]+?)::rewind': 'admin',
  'DELETE /v1/consumers/:name': 'admin',
  'GET /v1/policies': 'read',
  'POST /v1/policies/:machine(^[^/]+?)::activate': 'admin',
  'GET /v1/modes': 'read',
  'POST /v1/modes/:machine(^[^/]+?)::switch': 'admin',
  'POST /v1/entities/:machine/:id/observations': 'write',
  'GET /v1/entities/:machine/:id/observations': 'read',
  'GET /v1/machines/:machine/shadow-report': 'read',
  'GET /v1/freezes': 'read',
  'POST /v1/freezes': 'admin',
  'DELETE /v1/freezes/:id': 'admin',
  'GET /healthz': 'open',
  'GET /readyz': 'open',
  'GET /metrics': 'admin',
  'GET /openapi.json': 'open',
};

const callers = [
  { name: 'no key', headers: {}, rank: -2 },
  { name: 'wrong key', headers: bearer('tg_not_a_configured_key'), rank: -2 },
  { name: 'malformed header', headers: { authorization: `Basic ${keys.admin}` }, rank: -2 },
  { name: 'read', headers: bearer(keys.read), rank: 0 },
  { name: 'write', headers: bearer(keys.write), rank: 1 },
  { name: 'admin', headers: bearer(keys.admin), rank: 2 },
] as const;
const rankOf: Record<Access, number> = { open: -3, read: 0, write: 1, admin: 2 };

let counter = 0;
function request(route: string, machine: string) {
  const [method, path] = route.split(' ') as ['GET' | 'POST' | 'DELETE', string];
  const url = path.replace(/\(\^\[\^\/\]\+\?\)/g, '').replace(/::/g, ':').replace(':name', 'auth-consumer').replace(':machine', machine).replace(':id', 'auth-1').replace(':effectId', 'e-1').replace(':file', 'app.css') +
    (path.endsWith('/stream') ? '?maxDurationMs=1' : ''); // a stream ends only when told
  const payload =
    method !== 'POST' ? undefined
    : route === 'POST /v1/entities/:machine' ? { id: `auth-new-${++counter}`, input: {} }
    : path.endsWith(':retry') ? { reason: 'auth test' }
    : { type: 'CANCEL' };
  return { method, url, payload };
}

describe('access control', () => {
  const backend = backends()[0] ?? 'pglite';

  it('walks every route with no key, a wrong key and each scope', async () => {
    const tg = await testRuntime(backend, { machines });
    await tg.create('subscription', 'auth-1', { customerId: 'c', plan: 'pro' });
    const { app } = await testApi(backend, {}, tg);
    await app.ready();
    const routes = registeredRoutes(app);
    expect([...routes].sort()).toEqual(Object.keys(required).sort());

    for (const route of routes) {
      const needed = required[route] as Access;
      for (const caller of callers) {
        const response = await app.inject({ ...request(route, 'subscription'), headers: caller.headers });
        const where = `${route} as ${caller.name}`;
        if (needed === 'open') expect(response.statusCode, where).toBe(200);
        else if (caller.rank === -2) expect(expectProblem(response, 'TG_UNAUTHENTICATED').code, where).toBeDefined();
        else if (caller.rank < rankOf[needed]) expect(expectProblem(response, 'TG_FORBIDDEN').detail, where).toContain(`needs '${needed}'`);
        else expect([401, 403], where).not.toContain(response.statusCode);
        if (caller.rank === -2 && needed !== 'open') expect(response.headers['www-authenticate'], where).toBe('Bearer realm="tollgate"');
      }
    }
  });

  it('limits a key to its machines: others are 403 whether or not they exist', async () => {
    const tg = await testRuntime(backend, { machines });
    await tg.create('subscription', 'auth-1', { customerId: 'c', plan: 'pro' });
    const { app } = await testApi(backend, {}, tg);
    // The machine-limited key writes: admin routes are refused it by scope, which the test above covers.
    for (const route of Object.keys(required).filter((r) => r.includes(':machine') && required[r] !== 'admin')) {
      for (const machine of ['order', 'no-such-machine']) {
        const response = await app.inject({ ...request(route, machine), headers: bearer(keys.subscriptionOnly) });
        expect(expectProblem(response, 'TG_FORBIDDEN').detail, `${route} on ${machine}`).toContain('may not access');
      }
      const allowed = await app.inject({ ...request(route, 'subscription'), headers: bearer(keys.subscriptionOnly) });
      expect([401, 403], route).not.toContain(allowed.statusCode);
    }
    const entity = await tg.history('subscription', 'auth-1');
    expect(entity.at(-1)?.actor).toBe('subscription-writer');
  });

  it('opens /metrics when configured, and serves an open (keyless) server to loopback clients only', async () => {
    const tg = await testRuntime(backend, { machines });
    const { app: metricsOpen } = await testApi(backend, { metrics: 'open' }, tg);
    expect((await metricsOpen.inject({ url: '/metrics' })).statusCode).toBe(200);

    const { app: open } = await testApi(backend, { auth: { mode: 'open' } }, tg);
    expect((await open.inject({ url: '/v1/machines' })).statusCode).toBe(200);
    expect((await open.inject({ url: '/v1/machines', remoteAddress: '::1' })).statusCode).toBe(200);
    const remote = await open.inject({ url: '/v1/machines', remoteAddress: '10.1.2.3' });
    expect(expectProblem(remote, 'TG_FORBIDDEN').detail).toContain('loopback');
    expect((await open.inject({ url: '/v1/machines', remoteAddress: '::ffff:192.168.0.9' })).statusCode).toBe(403);
    expect((await open.inject({ url: '/healthz', remoteAddress: '10.1.2.3' })).statusCode).toBe(200);
  });

  it('parses key files, refusing bad entries with a message that names the field; keys are stored hashed', () => {
    const key = generateApiKey();
    expect(key).toMatch(/^tg_[A-Za-z0-9_-]{32}$/);
    expect(hashApiKey('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const entry = { name: 'app', hash: hashApiKey(key), scopes: ['write'] };
    expect(parseApiKeys(JSON.stringify([entry]), 'env')).toEqual([entry]);
    expect(parseApiKeys(JSON.stringify({ keys: [entry] }), 'file')).toEqual([entry]);
    expect(() => parseApiKeys('[{"name":"a","hash":"plain-key","scopes":["read"]}]', 'TOLLGATE_API_KEYS')).toThrow(/TOLLGATE_API_KEYS: '0.hash'/);
    expect(() => parseApiKeys(JSON.stringify([{ ...entry, scopes: ['root'] }]), 'f')).toThrow(/'0.scopes.0'/);
    expect(() => parseApiKeys(JSON.stringify([entry, { ...entry, name: 'b' }]), 'f')).toThrow(/same hash/);
    expect(() => parseApiKeys('{', 'f')).toThrow(/not valid JSON/);
  });
});
