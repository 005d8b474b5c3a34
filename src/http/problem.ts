import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorRegistry, isTollgateError, TollgateError, type TollgateErrorCode } from '../errors.ts';
import { pgErrorCode } from '../store/sql-client.ts';

/** The RFC 9457 body of every error response. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: TollgateErrorCode;
  readonly detail: string;
  readonly instance: string;
  readonly requestId: string;
  readonly retryable: boolean;
  readonly [extension: string]: unknown;
}

/** `type` of a problem: a URN naming the code (docs/errors.md describes each). */
export function problemType(code: TollgateErrorCode): string {
  return `urn:tollgate:error:${code}`;
}

// Fastify's own request errors, by its code, as registry codes with a message a caller can act on.
const fastifyCodes: Readonly<Record<string, TollgateErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'TG_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'TG_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'TG_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'TG_BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'TG_BAD_REQUEST',
  FST_ERR_BAD_URL: 'TG_BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'TG_BAD_REQUEST',
};

/**
 * Any error as a TollgateError: tollgate's own pass through; fastify's request errors and Postgres data
 * exceptions become 4xx; anything else is TG_INTERNAL with a message that leaks nothing.
 */
export function asTollgateError(error: unknown, request: FastifyRequest, bodyLimit: number): TollgateError {
  if (isTollgateError(error)) return error;
  const fastifyError = error as Partial<FastifyError> & { message?: string };
  const mapped = typeof fastifyError.code === 'string' ? fastifyCodes[fastifyError.code] : undefined;
  if (mapped === 'TG_PAYLOAD_TOO_LARGE') {
    return new TollgateError(mapped, `The request body is larger than this server's limit of ${bodyLimit} bytes.`, { limit: bodyLimit });
  }
  if (mapped === 'TG_UNSUPPORTED_MEDIA_TYPE') {
    const type = String(request.headers['content-type'] ?? '(none)').slice(0, 100);
    return new TollgateError(mapped, `Bodies must be 'application/json'; this one is '${type}'.`);
  }
  if (mapped) return new TollgateError(mapped, `Malformed request: ${fastifyError.message ?? 'invalid'}.`);
  if (error instanceof SyntaxError) return new TollgateError('TG_BAD_REQUEST', `The body is not valid JSON: ${error.message}.`);
  // Class 22 is "data exception": a value the database cannot store (a character, a length). Nothing was
  // written (the commit is one transaction), and the caller's value is the cause, so it is a 4xx.
  const sqlState = pgErrorCode(error);
  if (sqlState?.startsWith('22')) {
    return new TollgateError('TG_BAD_REQUEST', `The database refused a value of this request (SQLSTATE ${sqlState}).`, { sqlState });
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code: TollgateErrorCode = status === 404 ? 'TG_NOT_FOUND' : status === 413 ? 'TG_PAYLOAD_TOO_LARGE' : 'TG_BAD_REQUEST';
    return new TollgateError(code, `Malformed request: ${fastifyError.message ?? 'invalid'}.`);
  }
  return new TollgateError(
    'TG_INTERNAL',
    `An unexpected error occurred; it was logged with request id ${request.id}. Nothing was half-written.`,
    {},
    { cause: error },
  );
}

// Members of the problem that `details` may not overwrite.
const reserved = new Set(['type', 'title', 'status', 'code', 'detail', 'instance', 'requestId', 'retryable']);

/** The problem+json body for `error`. */
export function toProblem(error: TollgateError, request: FastifyRequest): Problem {
  const extensions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error.details)) if (!reserved.has(key) && value !== undefined) extensions[key] = value;
  return {
    ...extensions,
    type: problemType(error.code),
    title: errorRegistry[error.code].title,
    status: error.status,
    code: error.code,
    detail: error.message,
    instance: request.url.slice(0, 2048),
    requestId: String(request.id),
    retryable: error.retryable,
  };
}

/** Sends `error` as application/problem+json, with Retry-After where waiting helps. */
export function sendProblem(reply: FastifyReply, error: TollgateError): FastifyReply {
  const retryAfter = retryAfterSeconds(error);
  if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
  if (error.code === 'TG_UNAUTHENTICATED') void reply.header('www-authenticate', 'Bearer realm="tollgate"');
  return reply.code(error.status).type('application/problem+json').send(toProblem(error, reply.request));
}

function retryAfterSeconds(error: TollgateError): number | undefined {
  const given = error.details.retryAfter;
  if (typeof given === 'number') return given;
  if (error.code === 'TG_VERSION_CONFLICT') return 1;
  if (error.retryable && error.status === 503) return 5;
  return undefined;
}

/** The one place errors become responses: every route, the 404 handler and fastify's own request errors. */
export function registerProblemHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error, request, reply) => {
    const tollgateError = asTollgateError(error, request, bodyLimit);
    if (tollgateError.status >= 500) request.log.error({ err: error, code: tollgateError.code }, tollgateError.message);
    else request.log.info({ code: tollgateError.code }, tollgateError.message);
    return sendProblem(reply, tollgateError);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]?.slice(0, 200) ?? '';
    return sendProblem(
      reply,
      new TollgateError('TG_NOT_FOUND', `No route ${request.method} ${path}. /openapi.json lists the routes.`),
    );
  });
}
