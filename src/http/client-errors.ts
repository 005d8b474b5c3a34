import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { errorRegistry, TollgateError, type TollgateErrorCode } from '../errors.ts';
import { problemType, type Problem } from './problem.ts';

// Node's HTTP parser errors, by code: what the request got wrong, in words a caller can act on.
const parserErrors: Readonly<Record<string, { code: TollgateErrorCode; message: string }>> = {
  HPE_HEADER_OVERFLOW: {
    code: 'TG_HEADERS_TOO_LARGE',
    message: "The request's headers are larger than this server accepts (16 KiB in all). Send fewer or shorter headers.",
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    code: 'TG_REQUEST_TIMEOUT',
    message: 'The request was not received in full before the server stopped waiting. Send it again.',
  },
  ERR_HTTP_REQUEST_HEADERS_TIMEOUT: {
    code: 'TG_REQUEST_TIMEOUT',
    message: "The request's headers were not received in full before the server stopped waiting. Send it again.",
  },
  HPE_UNEXPECTED_CONTENT_LENGTH: {
    code: 'TG_BAD_REQUEST',
    message: 'The request has conflicting or duplicate Content-Length headers, or both Content-Length and Transfer-Encoding.',
  },
  HPE_INVALID_HEADER_TOKEN: { code: 'TG_BAD_REQUEST', message: 'A header name or value holds a character HTTP does not allow (a control byte?).' },
  HPE_INVALID_URL: { code: 'TG_BAD_REQUEST', message: 'The request target is not a valid URL: percent-encode spaces and non-ASCII characters.' },
};

/**
 * Answers a request Node's HTTP parser refused before any route saw it (a control byte in a header, conflicting
 * Content-Length, a raw space in the path, headers too large) with the same application/problem+json every other
 * error gets, a registry code and a fresh `x-request-id`, then closes the connection: after a parse error the
 * rest of the stream cannot be trusted. Installed as fastify's `clientErrorHandler`.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket, log?: FastifyBaseLogger): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const known = error.code ? parserErrors[error.code] : undefined;
  const refusal = new TollgateError(known?.code ?? 'TG_BAD_REQUEST', known?.message ?? `Malformed HTTP request (${error.code ?? 'unparsable'}).`, {
    parserCode: error.code,
  });
  const requestId = randomUUID();
  log?.info({ requestId, code: refusal.code, parserCode: error.code }, refusal.message);
  // Only a connection nothing was written to yet can take a response (a pipelined request may be mid-answer).
  if (socket.writable && socket.bytesWritten === 0) {
    const problem: Problem = {
      type: problemType(refusal.code),
      title: errorRegistry[refusal.code].title,
      status: refusal.status,
      code: refusal.code,
      detail: refusal.message,
      instance: '',
      requestId,
      retryable: refusal.retryable,
      parserCode: error.code,
    };
    const body = JSON.stringify(problem);
    socket.write(
      `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? 'Error'}\r\n` +
        `Content-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${requestId}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
