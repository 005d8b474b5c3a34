/**
 * The fuzz's request generator: for each operation of the server's OpenAPI document, requests built from its
 * documented parameters, headers and bodies (the machines' input and event schemas for entity bodies), with every
 * kind of key in the `authorization` header or the `access_token` query parameter, mixed with hostile values.
 */
import fc from 'fast-check';
import { keys } from './support.ts';

export type Schema = Record<string, unknown>;
export interface Parameter { readonly name: string; readonly in: 'path' | 'query' | 'header'; readonly required?: boolean; readonly schema: Schema }
export interface Operation {
  readonly method: string;
  readonly path: string;
  readonly parameters: readonly Parameter[];
  readonly body?: Schema;
  readonly responses: Record<string, { description?: string; content?: Record<string, { schema: Schema }> }>;
}
export interface Document {
  readonly paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> }; responses: Operation['responses'] }>>;
  readonly components: { schemas: Record<string, Schema> };
}

/** One generated request. */
export interface Generated {
  readonly operation: Operation;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly payload?: string;
  /** The decoded path parameters (machine, id, ...), for the fuzz's lanes. */
  readonly params: Record<string, string>;
  /** From the valid share (fuzz-valid.ts): what a careful client would send. */
  readonly valid?: boolean;
}

const hostile = [
  "'; DROP TABLE tollgate.entities; --", "1' OR '1'='1", '%', '_', '\\', '..', '../../etc/passwd', '__proto__', 'constructor',
  '😀', 'ünïcødé', '\u202eevil', ' ', 'a'.repeat(199), 'a'.repeat(201), 'x'.repeat(1000), '$1::text', 'null', '{}', '\u0000', '\u0007', '\udc00x',
];
const hostileNumbers = [-1, 0, 1.5, 2 ** 31, 2 ** 53 - 1, 9007199254740991, 1e308, -0, 1e14, 1e14 + 1];
// Already-encoded path segments, some invalid (an unfinished escape, a NUL, an encoded slash).
const rawSegments = ['%00', '%2F', '%E0%A4%A', '%F0%9F%98%80', '%', '%ZZ', '%C0%AF', '%ED%A0%80', '.', ''];
/** The entities the fuzz creates first: four of each shipped machine. */
export const fixtures = ['s', 'o', 'p'].flatMap((m) => [0, 1, 2, 3].map((i) => [m === 's' ? 'subscription' : m === 'o' ? 'order' : 'payout', `fz-${m}${i}`] as const));
const dictionary = ['subscription', 'order', 'payout', ...fixtures.map(([, id]) => id), 'fz-0', 'pm_fuzz', 'http://127.0.0.1:9/hook', 'fuzz-secret-1'];
/** Every kind of key: each scope, one limited to a machine, an unknown one, an empty one, none. */
const keyKinds = [keys.admin, keys.write, keys.read, keys.subscriptionOnly, 'wrong', undefined, ''];
const hostileBodies = [
  '{"type":"CANCEL","reason":"\\u0000"}', '{"type":"CANCEL","reason":"\\udc00x"}', '{"__proto__":{"type":"CANCEL"}}',
  '{"constructor":{"prototype":{"x":1}}}', `${'['.repeat(5000)}${']'.repeat(5000)}`, '{"type":"CANCEL"', '', 'null', '1e999999',
  JSON.stringify({ type: 'CANCEL', reason: 'x'.repeat(70_000) }),
];
// Query parameters that make a request wait (waitFor's timeout, a stream's life): the fuzz keeps a valid value short,
// so a request ends in milliseconds; waiting itself has its own tests.
const waits: Record<string, fc.Arbitrary<number>> = { timeoutMs: fc.integer({ min: 0, max: 20 }), maxDurationMs: fc.integer({ min: 1, max: 20 }) };

/** A fast-check arbitrary of values for a JSON Schema: mostly valid, sometimes hostile or out of range. */
export function valuesOf(schema: Schema, doc: Document, depth = 0): fc.Arbitrary<unknown> {
  const ref = schema.$ref;
  if (typeof ref === 'string') return valuesOf(doc.components.schemas[ref.split('/').at(-1) ?? ''] ?? {}, doc, depth);
  return fc.oneof({ weight: 8, arbitrary: validValuesOf(schema, doc, depth) }, { weight: 1, arbitrary: hostileValues });
}

/** Values no documented schema here accepts as a duration: strings, numbers out of every range, other JSON. */
const hostileValues = fc.constantFrom<unknown>(...hostile, ...hostileNumbers, null, true, [], {});

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
      // A dictionary of names the server knows (machines, fixtures, the fixture consumer) beside random strings, as
      // fuzzers do: a freeze or a consumer names a machine, and random letters would only ever meet a 404.
      return fc.oneof(
        { weight: 3, arbitrary: fc.string({ minLength: Number(schema.minLength ?? 0), maxLength: Math.min(Number(schema.maxLength ?? 24), 24) }) },
        { weight: 1, arbitrary: fc.constantFrom(...dictionary) },
      );
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

/** Requests for `operation`, path parameters mostly the fixtures' names, bodies from the documented schemas. */
export function requestsOf(operation: Operation, doc: Document, bodyOf: (machine: string, path: string) => fc.Arbitrary<unknown>): fc.Arbitrary<Generated> {
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
  const queryValue = (p: Parameter): fc.Arbitrary<unknown> => {
    const wait = waits[p.name];
    if (wait) return fc.oneof({ weight: 6, arbitrary: wait }, { weight: 1, arbitrary: hostileValues });
    if (p.name === 'access_token') return fc.oneof(fc.constantFrom(...keyKinds.filter((k) => k !== undefined)), valuesOf(p.schema, doc));
    return valuesOf(p.schema, doc);
  };
  // A waiting parameter is always sent: its default would make the request wait (30 s) or stream for ever.
  const query = fc.record(Object.fromEntries(queryParams.map((p) => [p.name, queryValue(p)])), {
    requiredKeys: queryParams.filter((p) => p.required || waits[p.name]).map((p) => p.name),
  });
  const headerValues = fc.record(Object.fromEntries(headerParams.map((p) => [p.name, fc.oneof(fc.constantFrom('k1', 'k2', 'k3'), valuesOf(p.schema, doc))])), { requiredKeys: [] });
  return fc
    .record({
      params,
      query,
      headerValues,
      auth: fc.constantFrom(...keyKinds),
      contentType: fc.constantFrom('application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', undefined),
      bodyKind: fc.constantFrom('documented', 'documented', 'documented', 'documented', 'hostile', 'any'),
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
        return {
          operation,
          url: search.length ? `${path}?${search.join('&')}` : path,
          headers,
          ...(payload !== undefined ? { payload } : {}),
          params: Object.fromEntries(Object.entries(r.params).map(([k, v]) => [k, decodeSafe(String(v))])),
        };
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
