import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorRegistry } from '../../src/errors.ts';
import { testApi } from './support.ts';

/** Writes `raw` to the server and returns everything it answers until it closes the connection. */
function rawRequest(port: number, raw: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(raw));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')));
  });
}

function parse(answer: string): { status: number; headers: Record<string, string>; body: Record<string, unknown> } {
  const [head = '', body = ''] = answer.split('\r\n\r\n', 2);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) as Record<string, unknown> };
}

describe('requests the HTTP parser refuses answer problem+json with a code and a request id', () => {
  let port = 0;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const { app } = await testApi('postgres', { auth: { mode: 'open' } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
    close = () => app.close();
  });
  afterAll(async () => close?.());

  it.each([
    ['a control byte in a header', 'GET /healthz HTTP/1.1\r\nHost: a\r\nX-Note: a\x01b\r\n\r\n', 400, 'TG_BAD_REQUEST'],
    ['conflicting Content-Length', 'POST /v1/entities/subscription HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}', 400, 'TG_BAD_REQUEST'],
    ['a raw space in the path', 'GET /v1/entities/sub scription HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'TG_BAD_REQUEST'],
    ['raw UTF-8 in the path', Buffer.from('GET /v1/entities/subscription/\u00e9t\u00e9 HTTP/1.1\r\nHost: a\r\n\r\n', 'utf8'), 400, 'TG_BAD_REQUEST'],
    ['no Host header', 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n', 400, 'TG_BAD_REQUEST'],
    ['a 20 KB header', `GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`, 431, 'TG_HEADERS_TOO_LARGE'],
    ['a request line that is not HTTP', 'HELLO\r\n\r\n', 400, 'TG_BAD_REQUEST'],
  ])('%s', async (_name, raw, status, code) => {
    const answer = parse(await rawRequest(port, raw));
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.body).toMatchObject({ code, status, title: errorRegistry[code as keyof typeof errorRegistry].title, requestId: answer.headers['x-request-id'] });
    expect(typeof answer.body.detail).toBe('string');
  });

  it('a well-formed request on a raw socket is still answered normally', async () => {
    const answer = parse(await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'));
    expect(answer.status).toBe(200);
  });
});
