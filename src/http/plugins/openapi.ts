import { buildOpenApi, type OpenApiInfo } from '../openapi.ts';
import { defineRoute, type AnyRouteSpec } from '../route.ts';

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
      success: { status: 200, description: 'OpenAPI 3.1', contentType: 'application/json' },
      errors: [],
      handler: async () => (document ??= buildOpenApi(catalog, info)),
    }),
  ];
}
