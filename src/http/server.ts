import { randomUUID } from 'node:crypto';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { systemClock, type Clock } from '../clock.ts';
import { TollgateError } from '../errors.ts';
import type { Tollgate } from '../runtime/create-tollgate.ts';
import { createAuthenticator, type AuthOptions } from './auth.ts';
import { answerClientError } from './client-errors.ts';
import { registerJsonBody } from './json-body.ts';
import { consumerRoutes } from './routes/consumers.ts';
import { entityRoutes } from './routes/entities.ts';
import { eventRoutes } from './routes/events.ts';
import { governanceRoutes } from './routes/governance.ts';
import { shadowRoutes } from './routes/shadow.ts';
import { healthRoutes, type ReadinessCheck } from './routes/health.ts';
import { inspectorRoutes } from './routes/inspector.ts';
import { streamRoutes } from './routes/streams.ts';
import { LiveActors } from './live-actors.ts';
import type { OpenStreams } from './sse.ts';
import { machineRoutes } from './routes/machines.ts';
import { openApiRoutes } from './routes/openapi.ts';
import { asTollgateError, registerProblemHandling, sendProblem } from './problem.ts';
import { createRateLimiter, type RateLimitOptions } from './rate-limit.ts';
import { addRoute, type AnyRouteSpec, type RouteDeps } from './route.ts';
import { firstIssue } from '../zod-issue.ts';

/** Options of {@link buildServer}. */
export interface ServerOptions {
  /** Who may call: `{ mode: 'keys', keys }` (production) or `{ mode: 'open' }` (loopback clients only). Required. */
  readonly auth: AuthOptions;
  /** Largest request body in bytes; larger is 413 TG_PAYLOAD_TOO_LARGE. Default 65,536 (64 KiB). */
  readonly bodyLimit?: number;
  /** `admin` (default): /metrics needs an admin key. `open`: anyone may scrape it. */
  readonly metrics?: 'admin' | 'open';
  /** Requests per second per API key (or client address on an open server). Default: no limit. */
  readonly rateLimit?: RateLimitOptions;
  /** Readiness checks besides Postgres, by name (e.g. `redis`); each rejects when not ready. Default: none. */
  readonly readiness?: Readonly<Record<string, ReadinessCheck>>;
  /** Time each readiness check may take. Default 2,000 ms. */
  readonly readinessTimeoutMs?: number;
  /** A pino logger for request and error logs (each line carries `requestId`). Default: no logging. */
  readonly logger?: FastifyBaseLogger;
  /** Trust `X-Forwarded-For` (behind a proxy) for client addresses. Default false. */
  readonly trustProxy?: boolean;
  /** Clock of the rate limiter. Default: the system clock. */
  readonly clock?: Clock;
  /** Version shown in the OpenAPI document. Default `0.1.0`. */
  readonly version?: string;
}

const optionsSchema = z.object({
  auth: z.union([
    z.object({ mode: z.literal('keys'), keys: z.array(z.object({ hash: z.string() }).loose()) }),
    z.object({ mode: z.literal('open') }),
  ]),
  bodyLimit: z.number().int().min(1024).max(64 * 1024 * 1024).optional(),
  metrics: z.enum(['admin', 'open']).optional(),
  rateLimit: z.object({ perSecond: z.number().positive(), burst: z.number().min(1).optional() }).optional(),
  readiness: z.record(z.string(), z.function()).optional(),
  readinessTimeoutMs: z.number().int().positive().optional(),
  trustProxy: z.boolean().optional(),
  version: z.string().optional(),
}).loose();

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The HTTP API of a tollgate runtime: one fastify plugin per resource (entities, events, machines, operations),
 * every error as application/problem+json from one handler, an OpenAPI document at /openapi.json generated from
 * the routes' zod schemas. The caller owns `tg` and closes it after the server.
 *
 * @example
 * const app = await buildServer(tg, { auth: { mode: 'keys', keys: parseApiKeys(process.env.TOLLGATE_API_KEYS!, 'env') } });
 * await app.listen({ port: 3000, host: '0.0.0.0' });
 */
export async function buildServer(tg: Tollgate, options: ServerOptions): Promise<FastifyInstance> {
  checkOptions('buildServer', options);
  const bodyLimit = options.bodyLimit ?? 64 * 1024;
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit,
    trustProxy: options.trustProxy ?? false,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    // A caller's X-Request-Id is kept when it is short and plain, so its logs and ours share the id.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    },
    // Long ids must reach the runtime's check (a 400 that says why), not fail to match a route (404).
    routerOptions: { maxParamLength: 8192 },
    return503OnClosing: true,
    // HEAD is neither documented nor needed: it answers 404 like any other unknown method and path.
    exposeHeadRoutes: false,
    // Requests Node's parser refuses get problem+json with a code and a request id, like every other error.
    clientErrorHandler: (error, socket) => answerClientError(error, socket, options.logger),
    // Node answers a missing Host with a bare 400 of its own; let it through to be refused as problem+json below.
    http: { requireHostHeader: false },
    // Errors fastify raises before routing (a URL that does not decode) bypass the error handler: map them here.
    frameworkErrors: (error, request, reply) => {
      void reply.header('x-request-id', request.id);
      sendProblem(reply, asTollgateError(error, request, bodyLimit));
    },
  });
  await registerApi(app, tg, options);
  return app;
}

function checkOptions(who: string, options: ApiOptions): void {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error, '(options)');
    throw new TollgateError('TG_INVALID_OPTIONS', `${who}: option '${field}' is invalid: ${message}.`);
  }
}

/** What {@link registerApi} reads: the server's options, minus those only a whole server has. */
export type ApiOptions = Omit<ServerOptions, 'logger' | 'trustProxy'>;

/**
 * Registers tollgate's routes, authentication, JSON body parsing and problem+json errors on `app` (a server, or an
 * encapsulated plugin scope: the `tollgateApi` plugin of `tollgate/http`). Every route of the API comes through
 * here, whichever way it is served.
 */
export async function registerApi(app: FastifyInstance, tg: Tollgate, options: ApiOptions, who = 'buildServer'): Promise<void> {
  checkOptions(who, options);
  const bodyLimit = options.bodyLimit ?? 64 * 1024;
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    // HTTP/1.1 requires Host (RFC 9112 3.2); inject() always sets one, so only real sockets meet this.
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
      throw new TollgateError('TG_BAD_REQUEST', 'HTTP/1.1 requests must carry a Host header.');
    }
  });
  registerProblemHandling(app, bodyLimit);
  registerJsonBody(app, bodyLimit);

  const authenticate = createAuthenticator(options.auth);
  const take = options.rateLimit ? createRateLimiter(options.rateLimit, options.clock ?? systemClock) : undefined;
  const deps: RouteDeps = {
    authenticate,
    limit: (caller, request) => take?.(caller.name ?? `address:${request.ip}`),
  };
  const registered: string[] = [];
  app.decorate('tollgateRoutes', registered);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) registered.push(`${method} ${route.url}`);
  });
  // Server-sent event streams never end by themselves: end them before the server waits for its connections.
  const streams: OpenStreams = new Set();
  app.addHook('preClose', async () => {
    for (const stream of [...streams]) stream.end();
  });
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });
  const catalog: AnyRouteSpec[] = [];
  const resources: Array<[string, AnyRouteSpec[]]> = [
    ['entities', entityRoutes(tg)],
    ['events', eventRoutes(tg)],
    ['machines', machineRoutes(tg)],
    ['consumers', consumerRoutes(tg)],
    ['governance', governanceRoutes(tg)],
    ['shadow', shadowRoutes(tg)],
    ['streams', streamRoutes(tg, streams)],
    ['inspector', inspectorRoutes(new LiveActors(() => (options.clock ?? systemClock).now()), streams)],
    [
      'operations',
      healthRoutes(tg, {
        metricsAccess: options.metrics === 'open' ? 'open' : 'admin',
        readiness: options.readiness ?? {},
        readinessTimeoutMs: options.readinessTimeoutMs ?? 2000,
      }),
    ],
    ['openapi', openApiRoutes(catalog, { version: options.version ?? '0.1.0', machines: Object.keys(tg.machines) })],
  ];
  for (const [name, routes] of resources) {
    catalog.push(...routes);
    await app.register(
      async (scope) => {
        for (const route of routes) addRoute(scope, route, deps);
      },
      { name },
    );
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** `METHOD /fastify/:path` of every route registerApi added to this instance (a decoration it makes). */
    tollgateRoutes?: readonly string[];
  }
}

/** `METHOD /fastify/:path` of every route `buildServer` registered, for tests and tooling. */
export function registeredRoutes(app: FastifyInstance): readonly string[] {
  return app.tollgateRoutes ?? [];
}
