import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { z } from 'zod';
import { TollgateError, type TollgateErrorCode } from '../errors.ts';
import { requireMachine, type Access, type AuthRequest, type Caller } from './auth.ts';
import { firstIssue } from '../zod-issue.ts';

/** What a route handler receives: the parsed inputs and the authenticated caller. */
export interface RouteContext<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly caller: Caller;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
}

/** A header the route reads, for the OpenAPI document. */
export interface HeaderSpec {
  readonly name: string;
  readonly description: string;
  readonly schema: z.ZodType;
}

/**
 * One route: the single source of its fastify registration, its input validation and its OpenAPI operation.
 * `path` is in OpenAPI form (`/v1/entities/{machine}`); a literal `:` in it (`events:dry-run`) is allowed.
 */
export interface RouteSpec<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly access: Access;
  readonly params?: P;
  readonly query?: Q;
  readonly headers?: readonly HeaderSpec[];
  readonly body?: B;
  /** False when the runtime validates the body itself (events: each machine has its own schemas). Default true. */
  readonly validateBody?: boolean;
  /** The success response. `schema` absent: `text/plain` (metrics). */
  readonly success: { readonly status: number; readonly description: string; readonly schema?: z.ZodType; readonly contentType?: string };
  /** Other statuses the handler itself may answer with (e.g. 200 for a replayed create). */
  readonly alsoSuccess?: readonly { readonly status: number; readonly description: string }[];
  /** Codes the route answers with besides the common ones (auth, rate limit, malformed request). */
  readonly errors: readonly TollgateErrorCode[];
  /**
   * The key may come as the `access_token` query parameter (RFC 6750 §2.3) when there is no Authorization header:
   * for what a browser opens without headers (the inspector page, EventSource streams, WebSocket upgrades).
   */
  readonly tokenInQuery?: boolean;
  /** A WebSocket endpoint: an upgrade request goes here (after authentication); a plain GET to `handler`. */
  readonly websocket?: (socket: WebSocket, request: FastifyRequest) => void;
  handler(context: RouteContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown>;
}

/** A route spec with its types erased, for catalogs. */
export type AnyRouteSpec = RouteSpec<z.ZodType, z.ZodType, z.ZodType>;

/** Keeps a route's handler typed by its schemas and erases the types for the catalog. */
export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(spec: RouteSpec<P, Q, B>): AnyRouteSpec {
  return spec as unknown as AnyRouteSpec;
}

/**
 * `/v1/x/{id}/events:dry-run` -> `/v1/x/:id/events::dry-run` (find-my-way escapes a literal colon by doubling).
 * A parameter right before a literal colon (`/v1/policies/{machine}:activate`) gets a lazy pattern, or find-my-way
 * would take the colon and the rest into the parameter's name.
 */
export function fastifyPath(openApiPath: string): string {
  return openApiPath
    .replace(/:/g, '::')
    .replace(/\{(\w+)\}(?=::)/g, ':$1(^[^/]+?)')
    .replace(/\{(\w+)\}/g, ':$1');
}

/** What registering routes needs from the server. */
export interface RouteDeps {
  authenticate(request: AuthRequest, access: Access): Caller;
  /** Spends one request of the caller's rate limit or throws TG_RATE_LIMITED. */
  limit(caller: Caller, request: FastifyRequest): void;
}

declare module 'fastify' {
  interface FastifyRequest {
    tollgateCaller?: Caller;
  }
}

/** Registers `spec` on `app`: authentication before the body is read, then zod validation, then the handler. */
export function addRoute(app: FastifyInstance, spec: AnyRouteSpec, deps: RouteDeps): void {
  app.route({
    method: spec.method,
    url: fastifyPath(spec.path),
    ...(spec.websocket ? { wsHandler: spec.websocket } : {}),
    onRequest: async (request) => {
      const authorization = request.headers.authorization ?? (spec.tokenInQuery ? queryToken(request) : undefined);
      const caller = deps.authenticate({ authorization, remoteAddress: request.socket.remoteAddress }, spec.access);
      if (spec.access !== 'open') deps.limit(caller, request);
      request.tollgateCaller = caller;
    },
    handler: async (request, reply) => {
      const caller = request.tollgateCaller as Caller;
      const params = parse(spec.params, request.params, 'path parameter');
      if (typeof (params as { machine?: unknown }).machine === 'string') requireMachine(caller, (params as { machine: string }).machine);
      const query = parse(spec.query, request.query, 'query parameter');
      const body = spec.validateBody === false ? request.body : parse(spec.body, request.body, 'body field');
      void reply.code(spec.success.status);
      return spec.handler({ params, query, body, caller, request, reply });
    },
  });
}

function queryToken(request: FastifyRequest): string | undefined {
  const token = (request.query as { access_token?: unknown } | undefined)?.access_token;
  return typeof token === 'string' ? `Bearer ${token}` : undefined;
}

function parse(schema: z.ZodType | undefined, value: unknown, what: string): unknown {
  if (!schema) return value;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = firstIssue(result.error, '(whole)');
  const field = issue.field;
  const message = what === 'body field' && field === '(whole)' ? `The body is invalid: ${issue.message}.` : `The ${what} '${field}' is invalid: ${issue.message}.`;
  throw new TollgateError('TG_INVALID_ARGUMENT', message, { argument: field });
}
