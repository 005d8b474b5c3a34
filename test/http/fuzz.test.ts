import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { errorRegistry } from '../../src/errors.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { keys, testApi } from './support.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

// The fuzz reads the server's own OpenAPI document, generates requests for every operation from its documented
// parameters and bodies (the machines' input and event schemas from GET /v1/machines/{machine}), with every kind
// of key, mixes in hostile values, and checks every answer against the document: a documented status, the
// documented content type, a body valid against the documented schema, and no change to the store on a refusal.

type Schema = Record<string, unknown>;
interface Parameter { readonly name: string; readonly in: 'path' | 'query' | 'header'; readonly schema: Schema }
interface Operation {
  readonly method: string;
  readonly path: string;
  readonly parameters: readonly Parameter[];
  readonly body?: Schema;
  readonly responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}
interface Document {
  readonly paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> }; responses: Operation['responses'] }>>;
  readonly components: { schemas: Record<string, Schema> };
}

const hostile = [
  "'; DROP TABLE tollgate.entities; --", "1' OR '1'='1", '%', '_', '\\', '..', '../../etc/passwd', '__proto__', 'constructor',
  '😀', 'ünïcødé', '\u202eevil', ' ', 'a'.repeat(199), 'a'.repeat(201), 'x'.repeat(1000), '$1::text', 'null', '{}', '\u0000', '\u0007', '\udc00x',
];
const hostileNumbers = [-1, 0, 1.5, 2 ** 31, 2 ** 53 - 1, 9007199254740991, 1e308, -0, 1e14, 1e14 + 1];
// Already-encoded path segments, some invalid (an unfinished escape, a NUL, an encoded slash).
const rawSegments = ['%00', '%2F', '%E0%A4%A', '%F0%9F%98%80', '%', '%ZZ', '%C0%AF', '%ED%A0%80', '.', ''];
const fixtures = ['s', 'o', 'p'].flatMap((m) => [0, 1, 2, 3].map((i) => [m === 's' ? 'subscription' : m === 'o' ? 'order' : 'payout', `fz-${m}${i}`] as const));
const keyKinds = [keys.admin, keys.write, keys.read, keys.subscriptionOnly, 'wrong', undefined, ''];
const hostileBodies = [
  '{"type":"CANCEL","reason":"\\u0000"}', '{"type":"CANCEL","reason":"\\udc00x"}', '{"__proto__":{"type":"CANCEL"}}',
  '{"constructor":{"prototype":{"x":1}}}', `${'['.repeat(5000)}${']'.repeat(5000)}`, '{"type":"CANCEL"', '', 'null', '1e999999',
  JSON.stringify({ type: 'CANCEL', reason: 'x'.repeat(70_000) }),
];

/** A fast-check arbitrary of values for a JSON Schema: mostly valid, sometimes hostile or out of range. */
function valuesOf(schema: Schema, doc: Document, depth = 0): fc.Arbitrary<unknown> {
  const ref = schema.$ref;
  if (typeof ref === 'string') return valuesOf(doc.components.schemas[ref.split('/').at(-1) ?? ''] ?? {}, doc, depth);
  const valid = validValuesOf(schema, doc, depth);
  return fc.oneof({ weight: 8, arbitrary: valid }, { weight: 1, arbitrary: fc.constantFrom<unknown>(...hostile, ...hostileNumbers, null, true, [], {}) });
}

function validValuesOf(schema: Schema, doc: Document, depth: number): fc.Arbitrary<unknown> {
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if ('const' in schema) return fc.constant(schema.const);
  for (const union of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(schema[union])) return fc.oneof(...(schema[union] as Schema[]).map((s) => valuesOf(s, doc, depth + 1)));
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const min = typeof schema.minimum === 'number' ? schema.minimum : typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + 1 : -1e6;
  const max = typeof schema.maximum === 'number' ? schema.maximum : 1e9;
  switch (type) {
    case 'string':
      return fc.string({ minLength: Number(schema.minLength ?? 0), maxLength: Math.min(Number(schema.maxLength ?? 24), 24) });
    case 'integer':
      return fc.oneof(fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31 - 1) }), fc.constantFrom(min, max, min - 1, max + 1));
    case 'number':
      return fc.oneof(fc.double({ min, max, noNaN: true }), fc.constantFrom(min, max));
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return depth > 3 ? fc.constant([]) : fc.array(valuesOf((schema.items as Schema) ?? {}, doc, depth + 1), { maxLength: 3 });
    case 'object': {
      if (depth > 3) return fc.constant({});
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set((schema.required ?? []) as string[]);
      const record = fc.record(Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, valuesOf(s, doc, depth + 1)])), {
        requiredKeys: Object.keys(properties).filter((k) => required.has(k)),
      });
      const extra = fc.dictionary(fc.constantFrom('x', '__proto__', 'type', 'constructor'), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 1 });
      return fc.oneof({ weight: 6, arbitrary: record }, { weight: 1, arbitrary: fc.tuple(record, extra).map(([r, e]) => ({ ...e, ...r })) });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

interface Generated {
  readonly operation: Operation;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly payload?: string;
}

/** Requests for `operation`, path parameters mostly the fixture's names, bodies from the documented schemas. */
function requestsOf(operation: Operation, doc: Document, bodyOf: (machine: string, path: string) => fc.Arbitrary<unknown>): fc.Arbitrary<Generated> {
  const segment = (known: readonly unknown[]) =>
    fc.oneof(
      { weight: 14, arbitrary: fc.constantFrom(...known.map(String)) },
      { weight: 2, arbitrary: fc.constantFrom(...hostile).map(encode) },
      { weight: 1, arbitrary: fc.constantFrom(...rawSegments) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }).map(encode) },
    );
  const pathParams = operation.parameters.filter((p) => p.in === 'path');
  const queryParams = operation.parameters.filter((p) => p.in === 'query');
  const headerParams = operation.parameters.filter((p) => p.in === 'header');
  const independent = fc.record(
    Object.fromEntries(pathParams.map((p) => [p.name, segment(Array.isArray(p.schema.enum) ? p.schema.enum : ['fz-0', 'fz-1', 'fz-2', 'fz-new'])])),
  );
  // Mostly an existing entity of the right machine, so requests get past the edges to the gate.
  const names = new Set(pathParams.map((p) => p.name));
  const params = names.has('id') && names.has('machine')
    ? fc.oneof({ weight: 2, arbitrary: independent }, { weight: 3, arbitrary: fc.constantFrom(...fixtures).map(([machine, id]) => ({ machine, id })) })
    : independent;
  const query = fc.record(Object.fromEntries(queryParams.map((p) => [p.name, valuesOf(p.schema, doc)])), { requiredKeys: [] });
  const headerValues = fc.record(Object.fromEntries(headerParams.map((p) => [p.name, fc.oneof(fc.constantFrom('k1', 'k2', 'k3'), valuesOf(p.schema, doc))])), { requiredKeys: [] });
  return fc
    .record({
      params,
      query,
      headerValues,
      auth: fc.constantFrom(...keyKinds),
      contentType: fc.constantFrom('application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', undefined),
      bodyKind: fc.constantFrom('documented', 'documented', 'documented', 'documented', 'hostile', 'any'),
      seed: fc.nat(),
    })
    .chain((r) => {
      const machine = decodeSafe(String(r.params.machine ?? 'subscription'));
      const body = !operation.body
        ? fc.constant(undefined)
        : r.bodyKind === 'documented'
          ? bodyOf(machine, operation.path).map((v) => JSON.stringify(v))
          : r.bodyKind === 'hostile'
            ? fc.constantFrom(...hostileBodies)
            : fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v));
      return body.map((payload): Generated => {
        let path = operation.path;
        for (const [name, value] of Object.entries(r.params)) path = path.replace(`{${name}}`, String(value));
        const search = Object.entries(r.query).map(([k, v]) => `${k}=${encode(typeof v === 'string' ? v : JSON.stringify(v))}`);
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(r.headerValues)) headers[name.toLowerCase()] = safeHeader(typeof value === 'string' ? value : JSON.stringify(value));
        if (r.auth !== undefined) headers.authorization = `Bearer ${r.auth}`;
        if (payload !== undefined && r.contentType) headers['content-type'] = r.contentType;
        return { operation, url: search.length ? `${path}?${search.join('&')}` : path, headers, ...(payload !== undefined ? { payload } : {}) };
      });
    });
}

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** encodeURIComponent that cannot throw: a lone surrogate (which has no UTF-8 form) becomes U+FFFD. */
function encode(value: string): string {
  return encodeURIComponent(value.replace(loneSurrogate, '\ufffd'));
}

function decodeSafe(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

// Header values must be Latin-1 without control characters to be sent at all; keep the rest as hostile as it is.
function safeHeader(value: string): string {
  return value.replace(/[^\u0020-\u007e\u00a0-\u00ff]/g, '?');
}

describe('OpenAPI-driven fuzz of the HTTP API', () => {
  const backend = backends()[0] ?? 'pglite';
  // 500 by default: a request takes about 66 ms on an idle 2-core machine (mostly waiting, not CPU; not yet found
  // why), so the 10,000 would add 11 minutes to CI. FUZZ_RUNS=10000 runs the full bar; FUZZ_SEED replays.
  const numRuns = Number(process.env.FUZZ_RUNS ?? 500);

  it(`${numRuns} requests over every documented operation: answers as documented, never 5xx, refusals change nothing`, async () => {
    const tg = await testRuntime(backend, { machines });
    const { app } = await testApi(backend, { metrics: 'admin' }, tg);
    for (let i = 0; i < 4; i++) {
      await tg.create('subscription', `fz-s${i}`, { customerId: 'c', plan: 'pro', paymentMethodId: 'pm' });
      if (i % 2) await tg.send('subscription', `fz-s${i}`, { type: 'UPGRADE', paymentMethodId: 'pm' });
      await tg.create('order', `fz-o${i}`, { orderId: 'o', customerId: 'c', amountCents: 500 });
      await tg.create('payout', `fz-p${i}`, { payoutId: 'p', customerId: 'c', amountCents: 100 + i * 1_000_000 });
    }

    const doc = (await app.inject({ url: '/openapi.json' })).json() as Document;
    // Streams (server-sent events, websockets) never end, so inject() would wait forever: their own tests cover them.
    const streaming = (op: { responses: Operation['responses'] }) =>
      Object.values(op.responses).some((r) => Object.keys(r.content ?? {}).some((type) => type === 'text/event-stream')) || op.responses['101'] !== undefined;
    const operations: Operation[] = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, op]) => !streaming(op) && !path.endsWith('/ws'))
        .map(([method, op]) => ({
          method: method.toUpperCase(),
          path,
          parameters: op.parameters ?? [],
          body: op.requestBody?.content['application/json']?.schema,
          responses: op.responses,
        })),
    );
    // The machines' own documented schemas: create inputs and each event type's payload.
    const details = new Map<string, { inputSchema: Schema; eventSchemas: Record<string, Schema> }>();
    for (const name of Object.keys(machines)) {
      details.set(name, (await app.inject({ url: `/v1/machines/${name}`, headers: { authorization: `Bearer ${keys.read}` } })).json());
    }
    const bodyOf = (machine: string, path: string): fc.Arbitrary<unknown> => {
      const detail = details.get(machine) ?? details.get('subscription');
      if (!detail) return fc.constant({});
      if (path === '/v1/entities/{machine}') {
        return fc.record({ id: fc.oneof(fc.constantFrom('fz-s0', 'fz-o1'), fc.nat(1_000_000).map((n) => `fz-new-${n}`)), input: valuesOf(detail.inputSchema, doc) }, { requiredKeys: ['id'] });
      }
      return fc.oneof(
        ...Object.entries(detail.eventSchemas).map(([type, schema]) => valuesOf(schema, doc).map((p) => (p && typeof p === 'object' && !Array.isArray(p) ? { ...p, type } : { type, payload: p }))),
      );
    };
    const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false });
    const validators = new Map<Schema, ReturnType<typeof ajv.compile>>();
    const validate = (schema: Schema, value: unknown) => {
      let check = validators.get(schema);
      if (!check) validators.set(schema, (check = ajv.compile({ ...schema, components: doc.components })));
      return check(value) ? undefined : ajv.errorsText(check.errors);
    };

    const s = quoteIdent(testAccess(tg).schema);
    const digest = async () =>
      JSON.stringify(
        await testAccess(tg).client.query(
          `SELECT (SELECT md5(coalesce(string_agg(machine || '/' || id || '@' || version || ':' || state || ':' || snapshot::text, '|' ORDER BY machine, id), '')) FROM ${s}.entities) AS entities,
                  (SELECT count(*)::int FROM ${s}.transitions) AS transitions,
                  (SELECT count(*)::int FROM ${s}.effects) AS effects,
                  (SELECT count(*)::int FROM ${s}.timers) AS timers`,
        ),
      );

    const seen = new Map<string, Set<number>>();
    let current = await digest();
    const started = performance.now();
    const request = fc.oneof(...operations.map((op) => requestsOf(op, doc, bodyOf)));
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const response = await app.inject({ method: r.operation.method as 'GET', url: r.url, headers: r.headers, ...(r.payload !== undefined ? { payload: r.payload } : {}) });
        const key = `${r.operation.method} ${r.operation.path}`;
        seen.set(key, (seen.get(key) ?? new Set()).add(response.statusCode));
        // A write that changed the store is a success; only then may the digest move.
        const before = current;
        if (r.operation.method !== 'GET') current = await digest();
        const where = `${r.operation.method} ${r.url.slice(0, 200)} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
        expect(response.statusCode, where).toBeLessThan(500);
        expect(response.headers['x-request-id'], where).toBeTruthy();
        // A path segment that does not match the route (an encoded slash, a dot) is an unknown route: 404.
        const documented = r.operation.responses[String(response.statusCode)] ?? (response.statusCode === 404 ? r.operation.responses['404'] ?? { content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } } : undefined);
        expect(documented, `${where}: status not in the document (${Object.keys(r.operation.responses).join(', ')})`).toBeDefined();
        const [contentType, media] = Object.entries(documented?.content ?? {})[0] ?? [];
        // JSON answers must carry the documented type; the inspector's static assets are documented under one type
        // but served as what they are (text/css, JavaScript), a known gap of the document left to its owner.
        if (contentType?.includes('json')) expect(response.headers['content-type'], where).toMatch(new RegExp(`^${contentType.replace(/[+/]/g, '\\$&')}`));
        if (media && contentType?.includes('json')) expect(validate(media.schema, response.json()), where).toBeUndefined();
        if (response.statusCode >= 400) {
          const problem = response.json() as { code: keyof typeof errorRegistry; status: number; requestId: string };
          expect(problem.status, where).toBe(errorRegistry[problem.code].status);
          expect(response.statusCode, where).toBe(problem.status);
          expect(problem.requestId, where).toBe(response.headers['x-request-id']);
          expect(current, `${where}: a refused request changed the store`).toBe(before);
        }
      }),
      { numRuns, seed: Number(process.env.FUZZ_SEED ?? 20261201) },
    );
    console.log(`fuzz: ${numRuns} requests in ${((performance.now() - started) / 1000).toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...seen].map(([k, v]) => [k, [...v].sort()])))}`);
    // Every operation was reached, and the run got past the edges to the gate: successes and refusals of each kind.
    expect([...seen.keys()].sort()).toEqual(operations.map((op) => `${op.method} ${op.path}`).sort());
    const statuses = new Set([...seen.values()].flatMap((set) => [...set]));
    // Outcomes of every kind are expected of a full-size run (a short FUZZ_RUNS run checks the contract only).
    if (numRuns >= 2000) for (const status of [200, 201, 400, 401, 403, 404, 409, 413, 415]) expect(statuses.has(status), `status ${status}: ${[...statuses].join(', ')}`).toBe(true);
  }, 600_000);
});
