import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { errorRegistry } from '../../src/errors.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { keys, testApi } from './support.ts';

const hostile = [
  "'; DROP TABLE tollgate.entities; --",
  "1' OR '1'='1",
  '%',
  '_',
  '\\',
  '..',
  '../../etc/passwd',
  '__proto__',
  'constructor',
  '😀',
  'ünïcødé',
  '\u202eevil',
  ' ',
  'a'.repeat(199),
  'a'.repeat(201),
  'x'.repeat(1000),
  '$1::text',
  'null',
  '{}',
  '\u0000',
  '\u0007',
];
// Already-encoded path segments, some invalid (an unfinished escape, a NUL, an encoded slash).
const rawSegments = ['%00', '%2F', '%E0%A4%A', '%F0%9F%98%80', '%', '%ZZ', '%C0%AF', '%ED%A0%80', '.', ''];

const segment = (known: string[]) =>
  fc.oneof(
    { weight: 14, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: fc.constantFrom(...hostile).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.constantFrom(...rawSegments) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''))) },
  );

const eventTypes = ['UPGRADE', 'RENEW', 'PAYMENT_SUCCEEDED', 'PAYMENT_FAILED', 'PAUSE', 'RESUME', 'CANCEL', 'PAY', 'SHIP', 'DELIVER', 'INVOICE', 'SUBMIT', 'APPROVE'];
const scalar = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom(...hostile));

const body = fc.oneof(
  // Events that look right, with payloads that may not be.
  { weight: 6, arbitrary: fc.record({ type: fc.constantFrom(...eventTypes) }, { requiredKeys: [] }).chain((e) =>
    fc.oneof(fc.constant({}), fc.dictionary(fc.constantFrom('paymentMethodId', 'reason', 'chargeId', 'paymentId', 'amountCents', 'trackingId', 'reviewerId', 'x', '__proto__'), scalar, { maxKeys: 3 })).map((p) => JSON.stringify({ ...p, ...e })),
  ) },
  // Right event, payload text from the whole of Unicode: NUL and lone surrogates that Postgres cannot store.
  { weight: 3, arbitrary: fc.record({ type: fc.constantFrom('CANCEL', 'PAYMENT_FAILED', 'REFUND_FAILED', 'ESCALATE'), reason: fc.string({ unit: 'binary', maxLength: 8 }) }).map((e) => JSON.stringify(e)) },
  // Creates that look right.
  { weight: 3, arbitrary: fc.record({ id: segment(['fz-new']).map((s) => { try { return decodeURIComponent(s); } catch { return s; } }), input: fc.oneof(fc.constant({ customerId: 'c', plan: 'pro' }), fc.jsonValue()) }, { requiredKeys: [] }).map((b) => JSON.stringify(b)) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 60 }) }, // mostly not JSON
  { weight: 1, arbitrary: fc.constantFrom('{"type":"CANCEL","reason":"\\u0000"}', '{"type":"CANCEL","reason":"\\udc00x"}', '{"__proto__":{"type":"CANCEL"}}', '{"constructor":{"prototype":{"x":1}}}', `${'['.repeat(5000)}${']'.repeat(5000)}`, '{"type":"CANCEL"', '', 'null', '1e999999') },
  { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 120_000 }).map((n) => JSON.stringify({ type: 'CANCEL', reason: 'x'.repeat(n) })) },
);

const anyRequest = fc.record({
  method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE'),
  machine: segment(['subscription', 'order', 'payout']),
  id: segment(['fz-0', 'fz-1', 'fz-2', 'fz-3']),
  suffix: fc.constantFrom('', '', '/events', '/events', '/events:dry-run', '/transitions', '/effects', '/nope', ':dry-run'),
  shape: fc.constantFrom('entity', 'entity', 'entity', 'machine', 'machines', 'other'),
  query: fc.option(fc.dictionary(fc.constantFrom('limit', 'state', 'cursor', 'afterSeq', 'x'), segment(['1', '0', '-1', '1000', 'abc', 'paused', 'trial', 'paid.shipment']), { maxKeys: 3 }), { nil: undefined }),
  contentType: fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', undefined, 'application/json; charset=latin1', 'multipart/form-data; boundary=x'),
  auth: fc.constantFrom(keys.admin, keys.admin, keys.write, keys.read, keys.subscriptionOnly, 'wrong', undefined, ''),
  idempotencyKey: fc.option(segment(['k1', 'k2']), { nil: undefined }),
  body: fc.option(body, { nil: undefined }),
});

// Well-formed routes with authorized keys and JSON bodies: what gets past the edges to the gate and the store.
const gateRequest = fc.record({
  method: fc.constant('POST'),
  machine: fc.constantFrom('subscription', 'order', 'payout'),
  id: fc.constantFrom('fz-0', 'fz-1', 'fz-2', 'fz-3', 'fz-0', 'fz-1'),
  suffix: fc.constantFrom('/events', '/events', '/events', '/events:dry-run', ''),
  shape: fc.constantFrom('entity', 'entity', 'entity', 'machine'),
  query: fc.constant(undefined),
  contentType: fc.constant('application/json'),
  auth: fc.constantFrom(keys.admin, keys.write),
  idempotencyKey: fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: undefined }),
  body,
});

const request = fc.oneof({ weight: 2, arbitrary: anyRequest }, { weight: 3, arbitrary: gateRequest });

describe('hostile HTTP requests', () => {
  const backend = backends()[0] ?? 'pglite';

  it('never answer 5xx, always answer errors as problem+json with a registry code, and change no entity when refused', async () => {
    const tg = await testRuntime(backend, { machines });
    const { app } = await testApi(backend, {}, tg);
    await tg.create('subscription', 'fz-0', { customerId: 'c', plan: 'pro' });
    await tg.create('subscription', 'fz-1', { customerId: 'c', plan: 'pro', paymentMethodId: 'pm' });
    await tg.send('subscription', 'fz-1', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await tg.create('order', 'fz-2', { orderId: 'o', customerId: 'c', amountCents: 500 });
    await tg.create('payout', 'fz-3', { payoutId: 'p', customerId: 'c', amountCents: 100 });

    const s = quoteIdent(tg.internals.schema);
    const digest = async () =>
      JSON.stringify(
        await tg.internals.client.query(
          `SELECT (SELECT md5(coalesce(string_agg(machine || '/' || id || '@' || version || ':' || state || ':' || snapshot::text, '|' ORDER BY machine, id), '')) FROM ${s}.entities) AS entities,
                  (SELECT count(*)::int FROM ${s}.transitions) AS transitions,
                  (SELECT count(*)::int FROM ${s}.effects) AS effects,
                  (SELECT count(*)::int FROM ${s}.timers) AS timers`,
        ),
      );

    const statuses = new Map<number, number>();
    // Nothing else writes, so the digest after one request is the digest before the next: one query per request.
    let current = await digest();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const query = r.query ? `?${Object.entries(r.query).map(([k, v]) => `${k}=${v}`).join('&')}` : '';
        const url =
          r.shape === 'entity'
            ? `/v1/entities/${r.machine}/${r.id}${r.suffix}${query}`
            : r.shape === 'machine'
              ? `/v1/entities/${r.machine}${r.suffix === ':dry-run' ? r.suffix : ''}${query}`
              : r.shape === 'machines'
                ? `/v1/machines/${r.machine}${query}`
                : `/${r.machine}/${r.id}${query}`;
        const headers: Record<string, string> = {};
        if (r.contentType && r.body !== undefined) headers['content-type'] = r.contentType;
        if (r.auth !== undefined) headers.authorization = `Bearer ${r.auth}`;
        if (r.idempotencyKey !== undefined) headers['idempotency-key'] = safeHeader(r.idempotencyKey);
        const response = await app.inject({ method: r.method as 'GET', url, headers, ...(r.body !== undefined ? { payload: r.body } : {}) });
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        const before = current;
        current = await digest(); // before asserting, so a failing (or shrinking) run keeps the chain true
        const where = `${r.method} ${url.slice(0, 200)} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
        expect(response.statusCode, where).toBeLessThan(500);
        expect(response.headers['x-request-id'], where).toBeTruthy();
        if (response.statusCode >= 400) {
          expect(response.headers['content-type'], where).toMatch(/^application\/problem\+json/);
          const problem = response.json() as { code: keyof typeof errorRegistry; status: number; requestId: string };
          expect(Object.keys(errorRegistry), where).toContain(problem.code);
          expect(problem.status, where).toBe(errorRegistry[problem.code].status);
          expect(response.statusCode, where).toBe(problem.status);
          expect(problem.requestId, where).toBe(response.headers['x-request-id']);
          expect(current, `${where}: a refused request changed the store`).toBe(before);
        }
      }),
      { numRuns: 2500, seed: Number(process.env.FUZZ_SEED ?? 20261124) },
    );
    // The run must have reached the gate, not only the edges: successes, refusals and size limits all occurred.
    for (const status of [200, 201, 400, 401, 403, 404, 409, 413, 415]) expect(statuses.get(status) ?? 0, `status ${status}: ${JSON.stringify([...statuses])}`).toBeGreaterThan(0);
  }, 120_000);
});

// Header values must be Latin-1 without control characters to be sent at all; keep the rest as hostile as it is.
function safeHeader(value: string): string {
  return value.replace(/[^\u0020-\u007e\u00a0-\u00ff]/g, '?');
}
