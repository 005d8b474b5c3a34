import { z } from 'zod';
import { buildOpenApi, type OpenApiInfo } from '../openapi.ts';
import { defineRoute, type AnyRouteSpec } from '../route.ts';

// Described as what it is, an OpenAPI 3.1 object (its full meta-schema is the OpenAPI specification's).
const openApiDocument = z
  .looseObject({ openapi: z.literal('3.1.0'), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.looseObject({})) })
  .describe('An OpenAPI 3.1 document: https://spec.openapis.org/oas/v3.1.0');

/** `GET /openapi.json`: the document of `catalog` (every route of the server, itself included). */
export function openApiRoutes(catalog: readonly AnyRouteSpec[], info: OpenApiInfo): AnyRouteSpec[] {
  let document: Record<string, unknown> | undefined;
  return [
    defineRoute({
      method: 'GET',
      path: '/openapi.json',
      operationId: 'openApi',
      summary: 'This OpenAPI document',
      tag: 'operations',
      access: 'open',
      success: { status: 200, description: 'OpenAPI 3.1', schema: openApiDocument },
      errors: [],
      handler: async () => (document ??= buildOpenApi(catalog, info)),
    }),
  ];
}
