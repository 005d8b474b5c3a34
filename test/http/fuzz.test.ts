import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { machines, policies } from '../../machines/index.ts';
import { errorRegistry } from '../../src/errors.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { fixtures, requestsOf, valuesOf, type Document, type Generated, type Operation, type Schema } from './fuzz-requests.ts';
import { fill, restingStatesOf, validRequestsOf, type Live, type World } from './fuzz-valid.ts';
import { keys, testApi } from './support.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

// The fuzz reads the server's own OpenAPI document, generates requests for every operation from its documented
// parameters and bodies (fuzz-requests.ts), with every kind of key, mixes in hostile values, and checks every answer
// against the document: a documented status, the documented content type, a body valid against the documented
// schema, a problem+json body with a registry code on every refusal, and no change to the store on a refusal.
//
// Speed: requests go through inject() (no socket), 16 at a time. Writes are serialized per lane (one entity, or the
// tables of consumers, policies, freezes or modes) so that each refused write can be checked against its lane's
// digest before and after; reads run beside them. Requests start in their order, give or take a window of 48, so
// that what a write changes (a freeze, a mode switch) meets the requests around it, not only those after all of
// them. At the end every entity and every global lane that changed must be one some write succeeded on, whatever
// lane it came from. 10,000 requests by default (FUZZ_RUNS); FUZZ_SEED picks another set.

const concurrency = 16;
const window = 48;

/** The tables each global lane's writes may change. */
const globalLanes: Record<string, readonly string[]> = {
  consumers: ['feed_consumers', 'feed_dead_letters'],
  policies: ['active_policies', 'policy_switches'],
  freezes: ['freezes'],
  modes: ['machine_modes', 'mode_switches'],
};

/** Which rows a write may change: an entity's, or a global lane's; undefined for a read. */
function laneOf(r: Generated): string | undefined {
  if (r.operation.method === 'GET') return undefined;
  const { machine, id } = r.params;
  if (machine !== undefined && id !== undefined) return JSON.stringify([machine, id]);
  if (machine !== undefined && r.operation.path === '/v1/entities/{machine}') {
    try {
      const body = JSON.parse(r.payload ?? '') as { id?: unknown };
      if (typeof body?.id === 'string') return JSON.stringify([machine, body.id]);
    } catch {
      // Not JSON: no entity to check before and after (the end of the run checks that none changed unseen).
    }
  }
  const group = r.operation.path.split('/')[2] ?? '';
  return group in globalLanes ? group : 'no entity';
}

/**
 * What the valid share's successes must lead to, seen in later answers: a freeze refusing sends, a machine switched
 * to shadow refusing sends and creates and taking observations (refused in enforce mode), the strict policy refusing
 * a large payout, a retried effect refusing a second time, an added consumer refusing a second add, a removed one
 * refusing a pause, a created entity refusing a second create.
 */
const followOns = [
  'POST /v1/entities/{machine}/{id}/events 423 TG_FROZEN',
  'POST /v1/entities/{machine}/{id}/events 409 TG_MACHINE_SHADOWED',
  'POST /v1/entities/{machine} 409 TG_MACHINE_SHADOWED',
  'POST /v1/entities/{machine} 409 TG_ENTITY_EXISTS',
  'POST /v1/entities/{machine}/{id}/observations 409 TG_MACHINE_ENFORCED',
  'POST /v1/entities/{machine}/{id}/events 403 TG_POLICY_DENIED',
  'POST /v1/entities/{machine}/{id}/events:dry-run 403 TG_POLICY_DENIED',
  'POST /v1/entities/{machine}/{id}/effects/{effectId}:retry 409 TG_EFFECT_NOT_FAILED',
  'POST /v1/consumers 409 TG_CONSUMER_EXISTS',
  'POST /v1/consumers/{name}:pause 404 TG_CONSUMER_NOT_FOUND',
];

/** One line per operation: its answers by status, with counts; then how often each follow-on occurred. */
function coverageTable(answers: Map<string, Map<string, number>>): string {
  const width = Math.max(...[...answers.keys()].map((k) => k.length));
  const followed = followOns.map((pair) => {
    const [method, path, ...answer] = pair.split(' ');
    return `  ${`${method} ${path}`.padEnd(width)}  ${answer.join(' ')} x${answers.get(`${method} ${path}`)?.get(answer.join(' ')) ?? 0}`;
  });
  return [...answers]
    .sort(([a], [b]) => (a.split(' ')[1] ?? '').localeCompare(b.split(' ')[1] ?? '') || a.localeCompare(b))
    .map(([operation, counts]) => {
      const statuses = [...counts].filter(([answer]) => !answer.includes(' ')).sort(([a], [b]) => a.localeCompare(b));
      return `  ${operation.padEnd(width)}  ${statuses.map(([status, n]) => `${status}x${n}`).join(' ')}`;
    })
    .concat('  follow-ons:', followed)
    .join('\n');
}

describe('OpenAPI-driven fuzz of the HTTP API', () => {
  const backend = backends()[0] ?? 'pglite';
  const numRuns = Number(process.env.FUZZ_RUNS ?? 10_000);
  const seed = Number(process.env.FUZZ_SEED ?? 20261201);

  it(`${numRuns} requests over every documented operation: answers as documented, never 5xx, refusals change nothing`, async () => {
    const tg = await testRuntime(backend, { machines, policies, maxConnections: concurrency });
    const { app } = await testApi(backend, { metrics: 'admin' }, tg);
    for (let i = 0; i < 4; i++) {
      await tg.create('subscription', `fz-s${i}`, { customerId: 'c', plan: 'pro', paymentMethodId: 'pm' });
      if (i % 2) await tg.send('subscription', `fz-s${i}`, { type: 'UPGRADE', paymentMethodId: 'pm' });
      // Renewals charge again: more effects to fail below.
      if (i % 2) for (let n = 0; n < 3; n++) await tg.send('subscription', `fz-s${i}`, { type: 'RENEW' });
      await tg.create('order', `fz-o${i}`, { orderId: 'o', customerId: 'c', amountCents: 500 });
      await tg.create('payout', `fz-p${i}`, { payoutId: 'p', customerId: 'c', amountCents: 100 + i * 5_000_000 });
    }
    expect(fixtures).toHaveLength(12);
    const client = testAccess(tg).client;
    const s = quoteIdent(testAccess(tg).schema);
    // No worker runs here: the fixtures' effects are made failed, for the valid share's retries to succeed on.
    const failed = await client.query(`UPDATE ${s}.effects SET status = 'failed', attempts = 1, error = '{"message":"fuzz"}'::jsonb RETURNING id`);
    expect(failed.length).toBe(8);
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
    const details = new Map<string, { inputSchema: Schema; eventSchemas: Record<string, Schema>; states: string[]; definition: Parameters<typeof restingStatesOf>[0] }>();
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

    // What a lane's writes may change. An entity: its row, history, effects and timers (a refusal's own rejection
    // record is expected, so rejections are left out), its shadow observations. A global lane: its tables.
    const rows = (table: string) => `(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM ${s}.${table} t)`;
    const laneDigest = async (lane: string): Promise<string> => {
      const tables = globalLanes[lane];
      if (tables) return JSON.stringify(await client.query(`SELECT ${tables.map((t) => `${rows(t)} AS ${t}`).join(', ')}`));
      if (lane === 'no entity') return 'no rows';
      const [machine, id] = JSON.parse(lane) as [string, string];
      // Postgres text cannot hold a NUL: no row has such a name, and the query could not even ask.
      if (`${machine}${id}`.includes('\u0000')) return 'no such rows';
      const of = (table: string, column = 'entity_id') => `(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM ${s}.${table} t WHERE machine = $1::text AND ${column} = $2::text)`;
      return JSON.stringify(await client.query(`SELECT ${of('entities', 'id')} AS e, ${of('transitions')} AS t, ${of('effects')} AS f, ${of('timers')} AS m, ${of('shadow_observations')} AS o`, [machine, id]));
    };
    const entityVersions = async () =>
      new Map((await client.query<{ machine: string; id: string; version: number }>(`SELECT machine, id, version FROM ${s}.entities`)).map((r) => [JSON.stringify([r.machine, r.id]), r.version]));
    const before = await entityVersions();
    const globalBefore = new Map(await Promise.all(Object.keys(globalLanes).map(async (lane) => [lane, await laneDigest(lane)] as const)));

    // The valid share's world: the machines as documented, the fixtures, registered policies, a pool of consumer names.
    const registered = ((await app.inject({ url: '/v1/policies', headers: { authorization: `Bearer ${keys.read}` } })).json() as { items: Array<{ machine: string; registered: string[] }> }).items;
    const world: World = {
      machines: Object.fromEntries([...details].map(([name, d]) => [name, { inputSchema: d.inputSchema, eventSchemas: d.eventSchemas, states: d.states, restingStates: restingStatesOf(d.definition) }])),
      fixtures: Object.fromEntries(Object.keys(machines).map((m) => [m, fixtures.filter(([fm]) => fm === m).map(([, id]) => id)])),
      pool: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `fz-n${i}`),
      policies: Object.fromEntries(registered.map((p) => [p.machine, p.registered])),
      // machines/policies.ts: the strict payout policy checks SUBMIT.
      policyEvents: { payout: ['SUBMIT'] },
      consumers: ['fz-0', 'fz-1', 'fz-2', 'fz-3'],
    };
    const live: Live = {
      async freezeId() {
        const all = await tg.governance.freezes({ all: true });
        return (all.find((f) => f.active) ?? all.at(-1))?.id ?? 'frz_none';
      },
      async effectId(machine, id) {
        const effects = await tg.effects(machine as 'subscription', id).catch(() => []);
        return (effects.find((e) => e.status === 'failed') ?? effects[0])?.id ?? 'no-such-effect';
      },
    };

    // Operations with a body weigh three times as much: that is where the gate, the schemas and the store meet. A
    // third of each operation's requests are valid ones (fuzz-valid.ts), for its success answers to occur.
    const requestsFor = (op: Operation) => {
      const valid = validRequestsOf(op, doc, world);
      return valid ? fc.oneof({ weight: 2, arbitrary: requestsOf(op, doc, bodyOf) }, { weight: 1, arbitrary: valid }) : requestsOf(op, doc, bodyOf);
    };
    const requests = fc.sample(fc.oneof(...operations.map((op) => ({ weight: op.body ? 3 : 1, arbitrary: requestsFor(op) }))), { numRuns, seed });
    const seen = new Map<string, Set<number>>();
    // Answers per operation: by status, and by status and code (`423 TG_FROZEN`), counted.
    const answers = new Map<string, Map<string, number>>();
    const count = (key: string, answer: string) => {
      const counts = answers.get(key) ?? new Map<string, number>();
      answers.set(key, counts.set(answer, (counts.get(answer) ?? 0) + 1));
    };
    const succeeded = new Set<string>();
    const lastDigest = new Map<string, string>();
    const failures: string[] = [];

    const check = async (generated: Generated, index: number, lane: string | undefined) => {
      const digestBefore = lane === undefined ? undefined : (lastDigest.get(lane) ?? (await laneDigest(lane)));
      const r = await fill(generated, live);
      const response = await app.inject({ method: r.operation.method as 'GET', url: r.url, headers: r.headers, ...(r.payload !== undefined ? { payload: r.payload } : {}) });
      const key = `${r.operation.method} ${r.operation.path}`;
      seen.set(key, (seen.get(key) ?? new Set()).add(response.statusCode));
      count(key, String(response.statusCode));
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
        count(key, `${response.statusCode} ${problem.code}`);
        // A request the document says is well formed, with a key of the scope the route requires, is never refused
        // for its form or its key: only for what the state of things says (a 404, a 409, a freeze, a policy).
        if (r.valid) expect(['TG_BAD_REQUEST', 'TG_INVALID_ARGUMENT', 'TG_INVALID_INPUT', 'TG_INVALID_EVENT', 'TG_INVALID_OBSERVATION', 'TG_UNAUTHENTICATED', 'TG_FORBIDDEN', 'TG_PAYLOAD_TOO_LARGE', 'TG_UNSUPPORTED_MEDIA_TYPE'], `${where}: a valid request refused for its form`).not.toContain(problem.code);
        // The document names the codes each status answers with (its description): the code must be one of them.
        const named = r.operation.responses[String(response.statusCode)]?.description;
        // (A dot segment takes the request off its route: to an unknown one, TG_NOT_FOUND, or to another one.)
        const offRoute = problem.code === 'TG_NOT_FOUND' || /\/\.{1,2}(\/|$)/.test(r.url.split('?')[0] ?? '');
        if (named !== undefined && !offRoute) expect(named.split(/,\s*/), `${where}: code not documented for ${response.statusCode}`).toContain(problem.code);
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
    const tasks: Array<Promise<void>> = [];
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
      const previous = [tasks[index - window], lane === undefined ? undefined : tails.get(lane)].filter((p) => p !== undefined);
      const task = previous.length ? Promise.all(previous).then(run) : run();
      if (lane !== undefined) tails.set(lane, task);
      tasks.push(task);
      return task;
    });
    await Promise.all(all);
    const seconds = (performance.now() - started) / 1000;
    console.log(`fuzz: ${numRuns} requests in ${seconds.toFixed(1)} s (${concurrency} at a time, ${backend}); answers per operation:\n${coverageTable(answers)}`);
    expect(failures.slice(0, 5), `${failures.length} of ${numRuns} requests failed`).toEqual([]);

    // Every entity that changed (created or moved), whatever lane did it, is one a write succeeded on.
    const after = await entityVersions();
    const changed = [...after].filter(([key, version]) => before.get(key) !== version).map(([key]) => key);
    expect(changed.filter((key) => !succeeded.has(key))).toEqual([]);
    for (const [lane, digest] of globalBefore) if (!succeeded.has(lane)) expect(await laneDigest(lane), `${lane}: changed with no write succeeding`).toBe(digest);

    // Every operation was reached, and the run got past the edges to the gate: successes and refusals of each kind.
    expect([...seen.keys()].sort()).toEqual(operations.map((op) => `${op.method} ${op.path}`).sort());
    const statuses = new Set([...seen.values()].flatMap((set) => [...set]));
    // Outcomes of every kind are expected of a full-size run (a short FUZZ_RUNS run checks the contract only).
    if (numRuns >= 2000) for (const status of [200, 201, 400, 401, 403, 404, 409, 413, 415]) expect(statuses.has(status), `status ${status}: ${[...statuses].join(', ')}`).toBe(true);
    // Coverage: every documented success of every operation occurred (the inspector's WebSocket upgrade, 101, needs a
    // socket: inject() cannot make it, test/http/inspector-api.test.ts does), and what successes lead to did too.
    // Asked of a full-size run only: a shorter one (FUZZ_RUNS) may not meet them all.
    if (numRuns >= 10_000) {
      const expected = [
        ...operations.flatMap((op) =>
          Object.keys(op.responses).filter((status) => status.startsWith('2')).map((status) => `${op.method} ${op.path} ${status}`),
        ),
        ...followOns,
      ].filter((pair) => !pair.startsWith('GET /inspector/ws '));
      const missing = expected.filter((pair) => {
        const [method, path, ...answer] = pair.split(' ');
        return !answers.get(`${method} ${path}`)?.has(answer.join(' '));
      });
      expect(missing, 'documented answers that never occurred').toEqual([]);
    }
  }, 600_000);
});
