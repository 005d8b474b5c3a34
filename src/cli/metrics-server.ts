import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running metrics endpoint. */
export interface MetricsServer {
  /** `http://host:port/metrics` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * `GET /metrics` (Prometheus text) for the processes that serve no API (`tollgate worker`, `tollgate relay`): the
 * effect, outbox and timer metrics, and the gate metrics of the follow-ups, compensations, timer events and queued
 * events they send, are counted in the process that does the work. Anything else is a 404.
 */
export async function startMetricsServer(metricsText: () => Promise<string>, listen: { port: number; host: string }): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    metricsText().then(
      (text) => response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error instanceof Error ? error.message : String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scrape still in flight (its metrics read waiting on a database that stopped answering) must not hold
        // the shutdown.
        server.closeAllConnections();
      }),
  };
}
