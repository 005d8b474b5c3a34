import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { errorRegistry } from '../../src/errors.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { fixtures, requestsOf, valuesOf, type Document, type Generated, type Operation, type Schema } from './fuzz-requests.ts';
import { keys, testApi } from './support.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

// The fuzz reads the server's own OpenAPI document, generates requests for every operation from its documented
// parameters and bodies (fuzz-requests.ts), with every kind of key, mixes in hostile values, and checks every answer
// against the document: a documented status, the documented content type, a body valid against the documented
// schema, a problem+json body with a registry code on every refusal, and no change to the store on a refusal.
//
// Speed: requests go through inject() (no socket), 16 at a time. Writes are serialized per lane (one entity, or the
// global tables for consumers, policies and freezes) so that each refused write can be checked against its lane's
// digest before and after; reads run beside them. At the end every entity that changed must be one some write
// succeeded on, whatever lane it came from. 10,000 requests by default (FUZZ_RUNS); FUZZ_SEED picks another set.

const concurrency = 16;

/** Which rows a write may change: an entity's, or the global tables'; undefined for a read. */
function laneOf(r: Generated): string | undefined {
  if (r.operation.method === 'GET') return undefined;
  const { machine, id } = r.params;
  if (machine !== undefined && id !== undefined) return JSON.stringify([machine, id]);
  if (machine !== undefined && r.operation.path === '/v1/entities/{machine}') {
    try {
      const body = JSON.parse(r.payload ?? '') as { id?: unknown };
      if (typeof body?.id === 'string') return JSON.stringify([machine, body.id]);
    } catch {
      // Not JSON: refused before any lane; it goes to the global one, checked all the same.
    }
  }
  return 'global';
}

describe('OpenAPI-driven fuzz of the HTTP API', () => {
  const backend = backends()[0] ?? 'pglite';
  const numRuns = Number(process.env.FUZZ_RUNS ?? 10_000);
  const seed = Number(process.env.FUZZ_SEED ?? 20261201);

  it(`${numRuns} requests over every documented operation: answers as documented, never 5xx, refusals change nothing`, async () => {
    const tg = await testRuntime(backend, { machines, maxConnections: concurrency });
    const { app } = await testApi(backend, { metrics: 'admin' }, tg);
    for (let i = 0; i < 4; i++) {
      await tg.create('subscription', `fz-s${i}`, { customerId: 'c', plan: 'pro', paymentMethodId: 'pm' });
      if (i % 2) await tg.send('subscription', `fz-s${i}`, { type: 'UPGRADE', paymentMethodId: 'pm' });
      await tg.create('order', `fz-o${i}`, { orderId: 'o', customerId: 'c', amountCents: 500 });
      await tg.create('payout', `fz-p${i}`, { payoutId: 'p', customerId: 'c', amountCents: 100 + i * 1_000_000 });
    }
    expect(fixtures).toHaveLength(12);
    // A feed consumer for the consumer routes to find (its webhook is never called: no feed runs here).
    const consumer = await app.inject({
      method: 'POST', url: '/v1/consumers', headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'fz-0', webhook: 'http://127.0.0.1:9/hook', secret: 'fuzz-secret-1' }),
    });
    expect(consumer.statusCode, consumer.body).toBe(201);

    const doc = (await app.inject({ url: '/openapi.json' })).json() as Document;
    const operations: Operation[] = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
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

    const client = testAccess(tg).client;
    const s = quoteIdent(testAccess(tg).schema);
    // What a lane's writes may change. An entity: its row, history, effects and timers (a refusal's own rejection
    // record is expected, so rejections are left out), its shadow observations. Global: consumers, policies, freezes,
    // modes.
    const rows = (table: string) => `(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM ${s}.${table} t)`;
    const laneDigest = async (lane: string): Promise<string> => {
      if (lane === 'global') {
        return JSON.stringify(await client.query(`SELECT ${['feed_consumers', 'feed_dead_letters', 'active_policies', 'policy_switches', 'freezes', 'machine_modes', 'mode_switches'].map((t) => `${rows(t)} AS ${t}`).join(', ')}`));
      }
      const [machine, id] = JSON.parse(lane) as [string, string];
      // Postgres text cannot hold a NUL: no row has such a name, and the query could not even ask.
      if (`${machine}${id}`.includes('\u0000')) return 'no such rows';
      const of = (table: string, column = 'entity_id') => `(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM ${s}.${table} t WHERE machine = $1::text AND ${column} = $2::text)`;
      return JSON.stringify(await client.query(`SELECT ${of('entities', 'id')} AS e, ${of('transitions')} AS t, ${of('effects')} AS f, ${of('timers')} AS m, ${of('shadow_observations')} AS o`, [machine, id]));
    };
    const entityVersions = async () =>
      new Map((await client.query<{ machine: string; id: string; version: number }>(`SELECT machine, id, version FROM ${s}.entities`)).map((r) => [JSON.stringify([r.machine, r.id]), r.version]));
    const before = await entityVersions();

    // Operations with a body weigh three times as much: that is where the gate, the schemas and the store meet.
    const requests = fc.sample(fc.oneof(...operations.map((op) => ({ weight: op.body ? 3 : 1, arbitrary: requestsOf(op, doc, bodyOf) }))), { numRuns, seed });
    const seen = new Map<string, Set<number>>();
    const succeeded = new Set<string>();
    const lastDigest = new Map<string, string>();
    const failures: string[] = [];

    const check = async (r: Generated, index: number, lane: string | undefined) => {
      const digestBefore = lane === undefined ? undefined : (lastDigest.get(lane) ?? (await laneDigest(lane)));
      const response = await app.inject({ method: r.operation.method as 'GET', url: r.url, headers: r.headers, ...(r.payload !== undefined ? { payload: r.payload } : {}) });
      const key = `${r.operation.method} ${r.operation.path}`;
      seen.set(key, (seen.get(key) ?? new Set()).add(response.statusCode));
      const where = `request #${index} (FUZZ_SEED=${seed}): ${r.operation.method} ${r.url.slice(0, 200)} ${JSON.stringify(r.headers).slice(0, 200)} ${r.payload?.slice(0, 200) ?? ''} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
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
        expect(response.headers['content-type'], where).toMatch(/^application\/problem\+json/);
        const problem = response.json() as { code: keyof typeof errorRegistry; status: number; requestId: string };
        expect(Object.keys(errorRegistry), where).toContain(problem.code);
        expect(problem.status, where).toBe(errorRegistry[problem.code].status);
        expect(response.statusCode, where).toBe(problem.status);
        expect(problem.requestId, where).toBe(response.headers['x-request-id']);
      }
      if (lane === undefined) return;
      const digestAfter = await laneDigest(lane);
      lastDigest.set(lane, digestAfter);
      // A refusal, or a dry run whatever its answer, leaves its lane as it found it.
      if (response.statusCode >= 400 || r.operation.path.endsWith(':dry-run')) expect(digestAfter, `${where}: changed the store`).toBe(digestBefore);
      else succeeded.add(lane);
    };

    // Lanes: each write waits for the one before it in its lane; at most `concurrency` requests run at once.
    let running = 0;
    const queue: Array<() => void> = [];
    const slot = async () => {
      if (running < concurrency) return void running++;
      await new Promise<void>((resolve) => queue.push(resolve));
    };
    const release = () => {
      const next = queue.shift();
      if (next) next();
      else running--;
    };
    const tails = new Map<string, Promise<void>>();
    const started = performance.now();
    const all = requests.map((r, index) => {
      const lane = laneOf(r);
      const run = async () => {
        await slot();
        try {
          await check(r, index, lane);
        } catch (error) {
          failures.push((error as Error).message);
        } finally {
          release();
        }
      };
      const task = lane === undefined ? run() : (tails.get(lane) ?? Promise.resolve()).then(run);
      if (lane !== undefined) tails.set(lane, task);
      return task;
    });
    await Promise.all(all);
    const seconds = (performance.now() - started) / 1000;
    console.log(`fuzz: ${numRuns} requests in ${seconds.toFixed(1)} s (${concurrency} at a time, ${backend}); statuses ${JSON.stringify(Object.fromEntries([...seen].map(([k, v]) => [k, [...v].sort()])))}`);
    expect(failures.slice(0, 5), `${failures.length} of ${numRuns} requests failed`).toEqual([]);

    // Every entity that changed (created or moved), whatever lane did it, is one a write succeeded on.
    const after = await entityVersions();
    const changed = [...after].filter(([key, version]) => before.get(key) !== version).map(([key]) => key);
    expect(changed.filter((key) => !succeeded.has(key))).toEqual([]);

    // Every operation was reached, and the run got past the edges to the gate: successes and refusals of each kind.
    expect([...seen.keys()].sort()).toEqual(operations.map((op) => `${op.method} ${op.path}`).sort());
    const statuses = new Set([...seen.values()].flatMap((set) => [...set]));
    // Outcomes of every kind are expected of a full-size run (a short FUZZ_RUNS run checks the contract only).
    if (numRuns >= 2000) for (const status of [200, 201, 400, 401, 403, 404, 409, 413, 415]) expect(statuses.has(status), `status ${status}: ${[...statuses].join(', ')}`).toBe(true);
  }, 600_000);
});
