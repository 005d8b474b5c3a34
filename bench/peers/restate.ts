/**
 * Restate: its server (from `@restatedev/restate-server`, state in a temp data dir, its own ports), the machine
 * served as a virtual object by `@restatedev/xstate` from an HTTP/2 endpoint in this process, registered against
 * the admin port; the client calls the ingress over HTTP with `idempotency-key` headers.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as restate from '@restatedev/restate-sdk';
import { xstate } from '@restatedev/xstate';
import { freePort } from '../../test/support/free-port.ts';
import { processCpuSeconds, type Provider, type System } from './harness.ts';
import { restateSubscriptionMachine } from './restate-machine.ts';

const require = createRequire(import.meta.url);
/** Partitions of the single node (fixed when it is provisioned). Restate's default is 24. */
const partitions = Number(process.env.BENCH_PEERS_RESTATE_PARTITIONS ?? 24);

export async function startRestate(provider: Provider): Promise<System> {
  const binary = require.resolve(`@restatedev/restate-server-${process.platform}-${process.arch}/bin/restate-server`);
  const dir = mkdtempSync(join(tmpdir(), 'tg-peers-restate-'));
  const [ingress, admin, node, endpointPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const server = spawn(binary, ['--base-dir', dir, '--listen-mode', 'tcp', '--no-logo', '--node-name', 'bench', '--default-num-partitions', String(partitions)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Its own process group: Ctrl-C reaches the bench, which finishes the running calls before it stops the server.
    detached: true,
    env: {
      ...process.env,
      RESTATE_BIND_ADDRESS: `127.0.0.1:${node}`,
      RESTATE_ADVERTISED_ADDRESS: `http://127.0.0.1:${node}/`,
      RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${admin}`,
      RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${ingress}`,
      RESTATE_DISABLE_TELEMETRY: 'true',
      RESTATE_LOG_FILTER: 'error',
    },
  });
  let stderr = '';
  server.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const adminUrl = `http://127.0.0.1:${admin}`;
  const ingressUrl = `http://127.0.0.1:${ingress}`;
  for (let i = 0; ; i++) {
    if (server.exitCode !== null) throw new Error(`restate-server exited: ${stderr}`);
    const ok = await fetch(`${adminUrl}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 300) throw new Error(`restate-server did not come up: ${stderr}`);
    await sleep(100);
  }
  let closing = false;
  const handler = restate.createEndpointHandler({
    services: [xstate('subscription', restateSubscriptionMachine(provider))],
    // The integration logs every promise it runs; keep errors only.
    logger: (meta, message, ...rest) => {
      if (meta.level === 'error' && !closing) console.error(message, ...rest);
    },
  });
  const endpoint = http2.createServer(handler);
  await new Promise<void>((resolve) => endpoint.listen(endpointPort, '127.0.0.1', resolve));
  const registered = await fetch(`${adminUrl}/deployments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ uri: `http://127.0.0.1:${endpointPort}`, force: true }) });
  if (!registered.ok) throw new Error(`registering the deployment failed: ${registered.status} ${await registered.text()}`);
  // The ingress learns of the new service asynchronously.
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${ingressUrl}/subscription/probe/snapshot`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await r.text();
    if (r.status !== 404 || !/service/i.test(r.statusText)) break;
    await sleep(100);
  }

  const call = async (id: string, handlerName: string, body: unknown, key?: string) => {
    const r = await fetch(`${ingressUrl}/subscription/${encodeURIComponent(id)}/${handlerName}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      body: JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`restate ${handlerName} ${id}: ${r.status} ${text}`);
    return text;
  };
  return {
    name: 'restate',
    async create(id, key) {
      await call(id, 'create', { input: { customerId: id, plan: 'pro' } }, key);
    },
    async send(id, event, key) {
      await call(id, 'send', { event }, key);
    },
    async illegal(id) {
      const before = await call(id, 'snapshot', {});
      const after = await call(id, 'send', { event: { type: 'RESUME' } });
      return JSON.parse(before).value === JSON.parse(after).value ? 'ignored: 200, snapshot unchanged, nothing recorded' : 'state changed (!)';
    },
    async serverCpuSeconds() {
      return processCpuSeconds(server.pid);
    },
    async close() {
      // The server's open streams to the endpoint abort when it goes: not an error here.
      closing = true;
      endpoint.close();
      server.kill('SIGTERM');
      await new Promise((resolve) => (server.exitCode !== null ? resolve(null) : server.once('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
