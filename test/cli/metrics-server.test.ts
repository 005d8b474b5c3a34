import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startMetricsServer } from '../../src/cli/metrics-server.ts';

describe('the metrics endpoint of worker and relay', () => {
  it('serves GET /metrics, 404 elsewhere, and a failing read as a 500', async () => {
    let fail = false;
    const server = await startMetricsServer(async () => {
      if (fail) throw new Error('database gone');
      return 'tollgate_x 1\n';
    }, { port: 0, host: '127.0.0.1' });
    try {
      const ok = await fetch(server.url);
      expect([ok.status, ok.headers.get('content-type'), await ok.text()]).toEqual([200, 'text/plain; version=0.0.4', 'tollgate_x 1\n']);
      expect((await fetch(server.url.replace('/metrics', '/'))).status).toBe(404);
      expect((await fetch(server.url, { method: 'POST' })).status).toBe(404);
      fail = true;
      const failed = await fetch(server.url);
      expect([failed.status, await failed.text()]).toEqual([500, 'metrics failed: database gone\n']);
    } finally {
      await server.close();
    }
  });

  it('closes at once while a scrape is in flight (its read waiting on a database that stopped answering)', async () => {
    const server = await startMetricsServer(() => new Promise<string>(() => {}), { port: 0, host: '127.0.0.1' });
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(100);
    const closed = await Promise.race([server.close().then(() => 'closed'), sleep(3_000).then(() => 'still open')]);
    socket.destroy();
    expect(closed).toBe('closed');
  });
});
