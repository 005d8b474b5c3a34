import { z } from 'zod';
import { errorRegistry, type TollgateErrorCode } from '../errors.ts';
import { jsonSchemaOf } from '../introspect/machine-info.ts';
import type { AnyRouteSpec } from './route.ts';
import { problem } from './schemas.ts';

/** What the document says about the service besides its routes. */
export interface OpenApiInfo {
  readonly version: string;
  /** Registered machine names: the `machine` path parameter's enum. */
  readonly machines: readonly string[];
}

const problemRef = { $ref: '#/components/schemas/Problem' };

/**
 * The OpenAPI 3.1 document of `routes`, generated from the same zod schemas that validate requests. Error
 * responses list, per status, the codes a route can answer with.
 */
export function buildOpenApi(routes: readonly AnyRouteSpec[], info: OpenApiInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route, info);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'tollgate',
      version: info.version,
      description:
        'Durable business-entity lifecycles: every event passes one gate. Errors are application/problem+json with a ' +
        'stable `code` (docs/errors.md). Every response carries `x-request-id`.',
    },
    paths,
    components: {
      schemas: { Problem: jsonSchemaOf(problem) },
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: Authorization: Bearer <key>' } },
    },
    security: [{ apiKey: [] }],
  };
}

function operation(route: AnyRouteSpec, info: OpenApiInfo): Record<string, unknown> {
  const parameters = [
    ...objectParameters(route.params, 'path', info),
    ...objectParameters(route.query, 'query', info),
    ...(route.headers ?? []).map((header) => ({
      name: header.name,
      in: 'header',
      required: false,
      description: header.description,
      schema: jsonSchemaOf(header.schema),
    })),
  ];
  const responses: Record<string, unknown> = {
    [route.success.status]: {
      description: route.success.description,
      content: route.success.schema
        ? { 'application/json': { schema: jsonSchemaOf(route.success.schema) } }
        : { [route.success.contentType ?? 'text/plain']: { schema: { type: 'string' } } },
    },
  };
  for (const extra of route.alsoSuccess ?? []) {
    responses[extra.status] = { description: extra.description, content: (responses[route.success.status] as { content: unknown }).content };
  }
  for (const [status, codes] of errorStatuses(route)) {
    responses[status] = { description: codes.join(', '), content: { 'application/problem+json': { schema: problemRef } } };
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    ...(route.access === 'open' ? { security: [] } : { 'x-required-scope': route.access }),
    ...(parameters.length ? { parameters } : {}),
    ...(route.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchemaOf(route.body, 'input') } } } }
      : {}),
    responses,
  };
}

function errorStatuses(route: AnyRouteSpec): Map<number, TollgateErrorCode[]> {
  // Every route can meet a bug (500) and the HTTP parser's refusals (400, 408, 431), answered before routing.
  const codes: TollgateErrorCode[] = [...route.errors, 'TG_BAD_REQUEST', 'TG_REQUEST_TIMEOUT', 'TG_HEADERS_TOO_LARGE', 'TG_INTERNAL'];
  if (route.access !== 'open') codes.push('TG_UNAUTHENTICATED', 'TG_FORBIDDEN', 'TG_RATE_LIMITED');
  // A value its schema refuses: a path or query parameter, or a body the route validates (route.ts parse).
  if (route.params || route.query || (route.body && route.validateBody !== false)) codes.push('TG_INVALID_ARGUMENT');
  if (route.body) codes.push('TG_BAD_REQUEST', 'TG_PAYLOAD_TOO_LARGE', 'TG_UNSUPPORTED_MEDIA_TYPE');
  const byStatus = new Map<number, TollgateErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = errorRegistry[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

function objectParameters(schema: z.ZodType | undefined, where: 'path' | 'query', info: OpenApiInfo): unknown[] {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => {
    const json = jsonSchemaOf(field, 'input');
    const { description, ...fieldSchema } = json;
    return {
      name,
      in: where,
      required: where === 'path' || !field.safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema: name === 'machine' && where === 'path' ? { ...fieldSchema, enum: [...info.machines] } : fieldSchema,
    };
  });
}
