/**
 * The fuzz's valid share: for each operation, requests a careful client would send, so that each route's
 * documented success answers (and what follows from them) occur. Bodies are built from the documented request
 * schemas, strictly within them (no extra members, every bound kept), with realistic values where a random one
 * could only be refused: existing machine names and entity ids, the machine's own events and states, registered
 * policy versions, consumer names from a small pool (so adds, removals and actions on them meet each other),
 * durations of seconds, a key with the scope the route requires.
 *
 * Values only known when the request is sent are placeholders that `fill` replaces then: `@@time:+2000@@` (an ISO
 * time 2 s from now), `@@freeze@@` (a freeze to lift), `@@effect@@` (an effect of the request's entity, a failed one
 * when there is one).
 */
import fc from 'fast-check';
import type { Document, Generated, Operation, Schema } from './fuzz-requests.ts';
import { keys } from './support.ts';

/** What a machine documents: its input and events (GET /v1/machines/{machine}) and the states they lead to. */
export interface MachineFacts {
  readonly inputSchema: Schema;
  readonly eventSchemas: Record<string, Schema>;
  readonly states: readonly string[];
  /** The leaf states an entity can rest in alone (not inside a parallel state), for an observation's `to`. */
  readonly restingStates: readonly string[];
}

interface StateNode {
  readonly type?: string;
  readonly states?: Record<string, StateNode>;
}

/** The leaf states of an XState definition (GET /v1/machines/{machine} `definition`) outside parallel states. */
export function restingStatesOf(definition: StateNode, prefix = ''): string[] {
  const children = Object.entries(definition.states ?? {});
  if (children.length === 0) return prefix ? [prefix] : [];
  if (definition.type === 'parallel') return [];
  return children.flatMap(([key, child]) => restingStatesOf(child, prefix ? `${prefix}.${key}` : key));
}

/** What the valid share addresses: the server's machines and entities, policies and consumer names. */
export interface World {
  readonly machines: Record<string, MachineFacts>;
  /** Entities that exist before the run, by machine. */
  readonly fixtures: Record<string, readonly string[]>;
  /** Ids the valid creates use, the same few again and again (a repeat under its key is a replay). */
  readonly pool: readonly string[];
  /** Registered policy versions by machine (GET /v1/policies), the strictest (oldest here) first. */
  readonly policies: Record<string, readonly string[]>;
  /** Events a registered policy checks, by machine: sent twice as often as all the others, for its refusals to occur. */
  readonly policyEvents: Record<string, readonly string[]>;
  /** Consumer names the valid share adds, acts on and removes. */
  readonly consumers: readonly string[];
}

/** What `fill` asks the server's state for, when a request is sent. */
export interface Live {
  /** A freeze id to lift: one in force when there is one. */
  freezeId(): Promise<string>;
  /** One of the entity's effect ids: a failed one when there is one. */
  effectId(machine: string, id: string): Promise<string>;
}

const placeholder = /@@(time:[+-]\d+|freeze|effect)@@/g;

/** `r` with its placeholders replaced by values of now. */
export async function fill(r: Generated, live: Live): Promise<Generated> {
  const text = `${r.url}\n${r.payload ?? ''}`;
  if (!text.includes('@@')) return r;
  const values = new Map<string, string>();
  for (const [match, name] of text.matchAll(placeholder)) {
    if (values.has(match) || name === undefined) continue;
    if (name.startsWith('time:')) values.set(match, new Date(Date.now() + Number(name.slice(5))).toISOString());
    else if (name === 'freeze') values.set(match, await live.freezeId());
    else values.set(match, await live.effectId(r.params.machine ?? '', r.params.id ?? ''));
  }
  const replace = (s: string) => s.replace(placeholder, (match) => values.get(match) ?? match);
  return { ...r, url: replace(r.url), ...(r.payload !== undefined ? { payload: replace(r.payload) } : {}) };
}

/** Keys that hold `scope` (for `machine`: the key limited to subscriptions too). */
function keysFor(scope: string, machine: string | undefined): string[] {
  const writers = [keys.write, keys.admin, ...(machine === 'subscription' ? [keys.subscriptionOnly] : [])];
  return scope === 'admin' ? [keys.admin] : scope === 'write' ? writers : [keys.read, ...writers];
}

const word = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_-'), minLength: 1, maxLength: 12 });
const reason = fc.constantFrom('incident 42', 'release 2026.12 rollout', 'customer asked', 'provider outage over', 'weekly review');
const subset = (items: readonly string[]) => fc.subarray([...items], { minLength: 1, maxLength: 3 });

/** A value `schema` accepts, realistic: short words, amounts and durations of everyday size, no extra members. */
export function strictValuesOf(schema: Schema, doc: Document, hints: Record<string, fc.Arbitrary<unknown>> = {}, depth = 0): fc.Arbitrary<unknown> {
  const ref = schema.$ref;
  if (typeof ref === 'string') return strictValuesOf(doc.components.schemas[ref.split('/').at(-1) ?? ''] ?? {}, doc, hints, depth);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if ('const' in schema) return fc.constant(schema.const);
  for (const union of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(schema[union])) return strictValuesOf((schema[union] as Schema[])[0] ?? {}, doc, hints, depth + 1);
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return typeof schema.maxLength === 'number' && schema.maxLength < 12 ? fc.constant('x') : word;
    case 'integer':
    case 'number': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + 1 : 0;
      const max = typeof schema.maximum === 'number' ? schema.maximum : 1e9;
      return fc.integer({ min: Math.max(min, 0), max: Math.min(max, Math.max(min, 0) + 10_000_000) });
    }
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(strictValuesOf((schema.items as Schema) ?? {}, doc, {}, depth + 1), { maxLength: 3 });
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set((schema.required ?? []) as string[]);
      return fc.record(
        Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, hints[k] ?? strictValuesOf(s, doc, {}, depth + 1)])),
        { requiredKeys: Object.keys(properties).filter((k) => required.has(k)) },
      );
    }
    default:
      return fc.constant(null);
  }
}

/** Realistic values for fields named like durations or amounts, which the machines' schemas allow up to 2^53. */
const entityHints: Record<string, fc.Arbitrary<unknown>> = {
  ...Object.fromEntries(
    ['trialPeriodMs', 'gracePeriodMs', 'paymentTimeoutMs', 'retryDelayMs', 'reviewTimeoutMs'].map((k) => [k, fc.integer({ min: 1_000, max: 30 * 86_400_000 })]),
  ),
  // Everyday amounts and large ones ($50,000 and more: the strict payout policy holds those).
  amountCents: fc.oneof(fc.integer({ min: 100, max: 100_000 }), fc.integer({ min: 5_000_000, max: 20_000_000 })),
};

/** The input a pool id is created with, always the same for the same machine and id (so a repeat can replay). */
export function inputsOf(world: Pick<World, 'machines' | 'pool'>, doc: Document): Map<string, unknown> {
  const inputs = new Map<string, unknown>();
  for (const [machine, facts] of Object.entries(world.machines)) {
    const values = fc.sample(strictValuesOf(facts.inputSchema, doc, entityHints), { numRuns: world.pool.length, seed: machine.length });
    world.pool.forEach((id, i) => inputs.set(`${machine}/${id}`, values[i]));
  }
  return inputs;
}

/** An event of `facts` with a payload its schema accepts; the `hot` ones twice as often as all the others together. */
function eventsOf(facts: MachineFacts, doc: Document, hot: readonly string[] = []): fc.Arbitrary<Record<string, unknown>> {
  const types = Object.entries(facts.eventSchemas);
  return fc.oneof(
    ...types.map(([type, schema]) => ({
      weight: hot.includes(type) ? 2 * Math.max(1, types.length - hot.length) : 1,
      arbitrary: strictValuesOf(schema, doc, { reason: reason, reviewerId: word }).map((payload) => ({ ...(payload as object), type })),
    })),
  );
}

/** When keyed observations say they happened: one time for the whole run, so a repeat under its key replays. */
const reportedAt = new Date(Date.now() - 60_000).toISOString();


/**
 * A read: path parameters naming what exists, a wait kept to milliseconds, an enumerated query parameter or a
 * machine filter now and then, nothing else.
 */
function readOf(operation: Operation, world: World): fc.Arbitrary<{ params: Record<string, string>; query: Record<string, string> }> {
  const machines = Object.keys(world.machines);
  const path = operation.parameters.filter((p) => p.in === 'path');
  const params = fc.constantFrom(...machines).chain((machine) =>
    fc.record(
      Object.fromEntries(
        path.map((p) => [
          p.name,
          p.name === 'machine' ? fc.constant(machine)
          : p.name === 'id' ? fc.constantFrom(...(world.fixtures[machine] ?? []))
          : p.name === 'name' ? fc.constantFrom(...world.consumers)
          : fc.constantFrom(...((p.schema.enum as string[] | undefined) ?? ['x'])),
        ]),
      ),
    ),
  );
  const queryParams = operation.parameters.filter((p) => p.in === 'query' && (p.name in waits || p.name === 'machine' || Array.isArray(p.schema.enum)));
  const query = fc.record(
    Object.fromEntries(
      queryParams.map((p) => [
        p.name,
        p.name in waits ? fc.integer({ min: 1, max: 20 }).map(String) : p.name === 'machine' ? fc.constantFrom(...machines) : fc.constantFrom(...(p.schema.enum as string[])),
      ]),
    ),
    { requiredKeys: queryParams.filter((p) => p.name in waits).map((p) => p.name) },
  );
  return fc.record({ params, query });
}

/** Query parameters that make a read wait (a state, a stream's life): always sent, short. */
const waits: Record<string, true> = { timeoutMs: true, maxDurationMs: true };

/** Valid requests for `operation` (undefined for the WebSocket upgrade, which inject() cannot make). */
export function validRequestsOf(operation: Operation, doc: Document, world: World): fc.Arbitrary<Generated> | undefined {
  const scope = String((doc.paths[operation.path]?.[operation.method.toLowerCase()] as Record<string, unknown> | undefined)?.['x-required-scope'] ?? 'read');
  const inputs = inputsOf(world, doc);
  const machineNames = Object.keys(world.machines);
  const machine = fc.constantFrom(...machineNames);
  const entity = machine.chain((m) => fc.constantFrom(...(world.fixtures[m] ?? []), ...world.pool).map((id) => ({ machine: m, id })));
  const fixture = machine.chain((m) => fc.constantFrom(...(world.fixtures[m] ?? [])).map((id) => ({ machine: m, id })));
  const time = (from: number, to: number) => fc.integer({ min: from, max: to }).map((ms) => `@@time:${ms >= 0 ? '+' : ''}${ms}@@`);
  const consumer = fc.constantFrom(...world.consumers);
  const facts = (m: string) => world.machines[m] as MachineFacts;

  // Per route: the path parameters, an Idempotency-Key (or none) and the body.
  type Parts = { params: Record<string, string>; key?: string; body?: unknown; query?: Record<string, string> };
  const parts: fc.Arbitrary<Parts> | undefined = (() => {
    switch (`${operation.method} ${operation.path}`) {
      case 'POST /v1/entities/{machine}':
        // With its key a repeat replays (200); without, it meets the entity its first time created (409).
        return fc.tuple(machine, fc.nat(world.pool.length - 1), fc.boolean()).map(([m, i, keyed]) => {
          const id = world.pool[i] as string;
          return { params: { machine: m }, ...(keyed ? { key: `create-${m}-${id}` } : {}), body: { id, input: inputs.get(`${m}/${id}`) } };
        });
      case 'POST /v1/entities/{machine}/{id}/events':
        return entity.chain((e) =>
          fc.record({ body: eventsOf(facts(e.machine), doc, world.policyEvents[e.machine]), key: fc.option(fc.nat(1).map((n) => `send-${n}`), { nil: undefined }) }).map((r) => ({ params: e, ...r })),
        );
      case 'POST /v1/entities/{machine}/{id}/events:dry-run':
        return entity.chain((e) => eventsOf(facts(e.machine), doc, world.policyEvents[e.machine]).map((body) => ({ params: e, body })));
      case 'POST /v1/entities/{machine}/{id}/effects/{effectId}:retry':
        // The fixtures: their effects are the failed ones (a worker's failures, made so before the run).
        return fixture.chain((e) => reason.map((r) => ({ params: { ...e, effectId: '@@effect@@' }, body: { reason: r } })));
      case 'POST /v1/entities/{machine}/{id}/observations':
        // The fixtures only, under two keys: an entity gets several reports while its machine is in shadow, some
        // under a key already used (a replay).
        return fixture.chain((e) => {
          const f = facts(e.machine);
          const events = Object.keys(f.eventSchemas);
          const unkeyed = fc
            .record({
              event: fc.constantFrom(...events),
              from: fc.option(fc.constantFrom(...f.states), { nil: undefined }),
              to: fc.constantFrom(...f.restingStates),
              at: time(-5_000, -1),
            }, { requiredKeys: ['event', 'to', 'at'] })
            .map((body) => ({ params: e, body }));
          // Under a key, the report is always the same one: its second recording is a replay (200).
          const keyed = fc.nat(1).map((n) => ({
            params: e,
            key: `observe-${n}`,
            body: { event: events[n % events.length], to: f.restingStates[n % f.restingStates.length], at: reportedAt },
          }));
          return fc.oneof(unkeyed, keyed);
        });
      case 'POST /v1/policies/{machine}:activate': {
        const withPolicies = Object.entries(world.policies).filter(([, versions]) => versions.length > 0);
        if (withPolicies.length === 0) return undefined;
        // The strictest version three times as often: it is in force most of the time, and its refusals occur.
        return fc
          .constantFrom(...withPolicies)
          .chain(([m, versions]) => fc.record({ version: fc.constantFrom(...versions, ...versions.slice(0, 1), ...versions.slice(0, 1)), reason }).map((body) => ({ params: { machine: m }, body })));
      }
      case 'POST /v1/modes/{machine}:switch':
        // Enforce four times as often as shadow: a machine is in shadow a fifth of the time, its sends refused then.
        return fc.record({ mode: fc.constantFrom('enforce', 'enforce', 'enforce', 'enforce', 'shadow'), reason }).chain((body) => machine.map((m) => ({ params: { machine: m }, body })));
      case 'POST /v1/freezes':
        return machine.chain((m) => {
          const f = facts(m);
          return fc
            .record({
              machine: fc.constant(m),
              events: fc.subarray(Object.keys(f.eventSchemas), { minLength: 1, maxLength: 2 }),
              states: subset(f.states),
              except: subset(Object.keys(f.eventSchemas)),
              reason,
              // Most freezes end by themselves within seconds (far enough ahead to be in the future still when a
              // busy server reads it); the others are lifted by DELETE.
              until: fc.oneof({ weight: 9, arbitrary: time(2_000, 4_000) }, { weight: 1, arbitrary: fc.constant(undefined) }),
            }, { requiredKeys: ['machine', 'events', 'reason'] })
            .map((body) => ({ params: {}, body: JSON.parse(JSON.stringify(body)) as unknown }));
        });
      case 'DELETE /v1/freezes/{id}':
        return reason.map((r) => ({ params: { id: '@@freeze@@' }, query: { reason: r } }));
      case 'POST /v1/consumers':
        return fc
          .record({
            name: consumer,
            sink: fc.constantFrom('webhook', 'webhook', 'nats'),
            machines: fc.option(subset(machineNames), { nil: undefined }),
            withContext: fc.option(fc.boolean(), { nil: undefined }),
            maxAttempts: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
            from: fc.option(fc.constantFrom('now', 'beginning'), { nil: undefined }),
          })
          .map(({ sink, ...rest }) => ({
            params: {},
            body: JSON.parse(JSON.stringify({
              ...rest,
              ...(sink === 'webhook' ? { webhook: 'http://127.0.0.1:9/hook', secret: 'fuzz-secret-1' } : { nats: 'nats://127.0.0.1:4222' }),
            })) as unknown,
          }));
      case 'POST /v1/consumers/{name}:rewind':
        return fc
          .record({ name: consumer, to: fc.oneof(fc.constant('beginning'), time(-60_000, -1), fc.constant('0')) })
          .map(({ name, to }) => ({ params: { name }, body: { to } }));
      case 'GET /inspector/ws':
        return undefined;
      case 'POST /v1/consumers/{name}:pause':
      case 'POST /v1/consumers/{name}:resume':
      case 'POST /v1/consumers/{name}:redeliver':
      case 'DELETE /v1/consumers/{name}':
        return consumer.map((name) => ({ params: { name } }));
      default:
        return operation.method === 'GET' ? readOf(operation, world) : undefined;
    }
  })();
  if (!parts) return undefined;
  return parts.chain((p) =>
    fc
      .record({ auth: fc.constantFrom(...keysFor(scope, p.params.machine)), contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8') })
      .map(({ auth, contentType }): Generated => {
        let path = operation.path;
        for (const [name, value] of Object.entries(p.params)) path = path.replace(`{${name}}`, value);
        const search = Object.entries(p.query ?? {}).map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
        const headers: Record<string, string> = { authorization: `Bearer ${auth}` };
        if (p.key !== undefined) headers['idempotency-key'] = p.key;
        const payload = operation.body ? JSON.stringify(p.body ?? {}) : undefined;
        if (payload !== undefined) headers['content-type'] = contentType;
        return { operation, url: search.length ? `${path}?${search.join('&')}` : path, headers, ...(payload !== undefined ? { payload } : {}), params: p.params, valid: true };
      }),
  );
}
