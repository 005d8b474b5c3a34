import type { FastifyReply, FastifyRequest } from 'fastify';

/** An open server-sent events response. */
export interface EventStream {
  /** Sends one event (`event: <name>`, the data as one JSON line, `id` when given). */
  send(event: string, data: unknown, id?: string): void;
  /** Runs `cleanup` once the stream ends (client gone, maxDuration reached, or the server closing). */
  onClose(cleanup: () => void): void;
  /** Resolves when the stream has ended. */
  readonly closed: Promise<void>;
  end(): void;
}

/** What the server keeps to end every open stream when it closes (a stream never ends by itself). */
export type OpenStreams = Set<EventStream>;

const heartbeatMs = 15_000;

/**
 * Turns the reply into a `text/event-stream` (the reply is hijacked: fastify no longer answers it). A comment line
 * every 15 s keeps proxies from closing an idle stream. `maxDurationMs` ends it after that long.
 */
export function openEventStream(request: FastifyRequest, reply: FastifyReply, open: OpenStreams, maxDurationMs?: number): EventStream {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(request.id),
  });
  raw.write(': tollgate\n\n');
  const cleanups: Array<() => void> = [];
  let ended = false;
  let resolveClosed = () => {};
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), heartbeatMs);
  const limit = maxDurationMs === undefined ? undefined : setTimeout(() => stream.end(), maxDurationMs);
  const stream: EventStream = {
    send(event, data, id) {
      if (ended) return;
      raw.write(`event: ${event}\n${id ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
    },
    onClose(cleanup) {
      if (ended) cleanup();
      else cleanups.push(cleanup);
    },
    closed,
    end() {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      clearTimeout(limit);
      open.delete(stream);
      for (const cleanup of cleanups.splice(0)) cleanup();
      raw.end();
      resolveClosed();
    },
  };
  open.add(stream);
  raw.on('close', () => stream.end()); // the response's close: the client went away (the request's fires once its body is read)
  return stream;
}
