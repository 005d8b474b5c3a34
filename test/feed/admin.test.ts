import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { machines } from '../../machines/index.ts';
import { postgresAvailable, testDatabaseUrl, testRuntime } from '../support/databases.ts';
import { bearer, keys, testApi } from '../http/support.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

describe.runIf(postgresAvailable())('lifecycle feed consumers: admin routes and CLI', () => {
  it('adds, lists, pauses, resumes, rewinds, redelivers and removes over HTTP (admin keys only)', async () => {
    const tg = await testRuntime('postgres', { machines });
    const { app } = await testApi('postgres', {}, tg);
    const admin = bearer(keys.admin);
    const add = await app.inject({
      method: 'POST',
      url: '/v1/consumers',
      headers: admin,
      payload: { name: 'crm', webhook: 'http://127.0.0.1:9/hook', secret: 'secret-123', machines: ['subscription'], events: ['CANCEL'] },
    });
    expect(add.statusCode).toBe(201);
    expect(add.json()).toMatchObject({ name: 'crm', sink: 'webhook', status: 'active', machines: ['subscription'], behind: 0 });
    expect(add.body).not.toContain('secret-123');
    expect((await app.inject({ method: 'POST', url: '/v1/consumers', headers: admin, payload: { name: 'crm', nats: 'nats://127.0.0.1:4222' } })).json()).toMatchObject({
      code: 'TG_CONSUMER_EXISTS',
    });
    expect((await app.inject({ method: 'POST', url: '/v1/consumers', headers: admin, payload: { name: 'x', webhook: 'http://h/', secret: 'secret-123', machines: ['nope'] } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/v1/consumers', headers: bearer(keys.write) })).statusCode).toBe(403);

    expect((await app.inject({ method: 'POST', url: '/v1/consumers/crm:pause', headers: admin })).json()).toMatchObject({ status: 'paused' });
    expect((await app.inject({ method: 'GET', url: '/v1/consumers/crm', headers: admin })).json()).toMatchObject({ status: 'paused' });
    expect((await app.inject({ method: 'POST', url: '/v1/consumers/crm:resume', headers: admin })).json()).toMatchObject({ status: 'active' });
    const rewound = await app.inject({ method: 'POST', url: '/v1/consumers/crm:rewind', headers: admin, payload: { to: 'beginning' } });
    expect(rewound.json()).toMatchObject({ position: '0' });
    expect((await app.inject({ method: 'POST', url: '/v1/consumers/crm:rewind', headers: admin, payload: { to: 'yesterday' } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/v1/consumers/crm:redeliver', headers: admin })).json()).toMatchObject({ redelivering: 0 });
    expect((await app.inject({ method: 'GET', url: '/v1/consumers', headers: admin })).json().items).toHaveLength(1);
    expect((await app.inject({ method: 'DELETE', url: '/v1/consumers/crm', headers: admin })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/consumers/crm', headers: admin })).json()).toMatchObject({ code: 'TG_CONSUMER_NOT_FOUND' });
  });

  it('tollgate consumers: add, list (with its lag), rewind, remove', async () => {
    const tg = await testRuntime('postgres', { machines });
    const db = ['--database-url', await testDatabaseUrl(), '--schema', testAccess(tg).schema];
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    expect(await main(['consumers', 'add', 'js', '--nats', 'nats://127.0.0.1:4222', '--machines', 'subscription', '--with-context', ...db])).toBe(0);
    await tg.create('subscription', 'c-1', { customerId: 'c', plan: 'pro' });
    expect(await main(['consumers', 'list', ...db])).toBe(0);
    expect(out.join('')).toMatch(/js\s+nats\s+active\s+\d+\s+1\s+/);
    out.length = 0;
    expect(await main(['consumers', 'list', '--json', ...db])).toBe(0);
    expect(JSON.parse(out.join(''))).toEqual([expect.objectContaining({ name: 'js', behind: 1, withContext: true, machines: ['subscription'] })]);
    expect(await main(['consumers', 'rewind', 'js', '--to', '2020-01-01T00:00:00Z', ...db])).toBe(0);
    expect(await main(['consumers', 'add', 'bad', '--webhook', 'http://h/', ...db])).toBe(1);
    expect(out.join('')).toContain('signing secret');
    expect(await main(['consumers', 'remove', 'js', ...db])).toBe(0);
    expect(await main(['consumers', 'pause', 'js', ...db])).toBe(1);
    expect(out.join('')).toContain('TG_CONSUMER_NOT_FOUND');
  });
});
