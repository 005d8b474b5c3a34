import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, expect } from 'vitest';
import { machines } from '../../machines/index.ts';
import { errorRegistry } from '../../src/errors.ts';
import { hashApiKey, type ApiKeyEntry } from '../../src/http/auth.ts';
import { buildServer, type ServerOptions } from '../../src/http/server.ts';
import type { Tollgate } from '../../src/index.ts';
import { testRuntime, type Backend } from '../support/databases.ts';

/** One key per scope, plus a write key limited to the subscription machine. */
export const keys = {
  read: 'tg_test_read_key',
  write: 'tg_test_write_key',
  admin: 'tg_test_admin_key',
  subscriptionOnly: 'tg_test_subscription_writer',
} as const;

export const keyEntries: ApiKeyEntry[] = [
  { name: 'reader', hash: hashApiKey(keys.read), scopes: ['read'] },
  { name: 'writer', hash: hashApiKey(keys.write), scopes: ['write'] },
  { name: 'operator', hash: hashApiKey(keys.admin), scopes: ['admin'] },
  { name: 'subscription-writer', hash: hashApiKey(keys.subscriptionOnly), scopes: ['write'], machines: ['subscription'] },
];

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

const apps: FastifyInstance[] = [];
afterAll(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** An API (keys auth unless told otherwise) over `runtime`, or over a new migrated runtime with the shipped machines. */
export async function testApi(
  backend: Backend,
  options: Partial<ServerOptions> = {},
  runtime?: Tollgate<typeof machines>,
): Promise<{ tg: Tollgate<typeof machines>; app: FastifyInstance }> {
  const tg = runtime ?? (await testRuntime(backend, { machines }));
  const app = await buildServer(tg, { auth: { mode: 'keys', keys: keyEntries }, ...options });
  apps.push(app);
  return { tg, app };
}

/** Asserts `response` is an RFC 9457 problem with a registry code whose status it carries; returns the body. */
export function expectProblem(response: LightMyRequestResponse, code?: string): Record<string, unknown> {
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.json() as Record<string, unknown>;
  expect(Object.keys(errorRegistry)).toContain(body.code);
  const spec = errorRegistry[body.code as keyof typeof errorRegistry];
  expect(response.statusCode).toBe(spec.status);
  expect(body).toMatchObject({ status: spec.status, title: spec.title, type: `urn:tollgate:error:${String(body.code)}` });
  expect(typeof body.detail).toBe('string');
  expect(body.requestId).toBe(response.headers['x-request-id']);
  if (code !== undefined) expect(body.code).toBe(code);
  return body;
}
