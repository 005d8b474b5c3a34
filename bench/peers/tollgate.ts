/**
 * tollgate in the production layout: the gate and the relay in this process (`tollgate serve --relay`), the
 * effect worker beside them on BullMQ, over a Redis server of its own (started here, so its CPU is counted) and a
 * Postgres database of its own. The follow-up's commit is observed with the runtime's `inspect` hook, which runs
 * right after each commit of this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type postgres from 'postgres';
import { createTollgate, isTollgateError } from '../../src/index.ts';
import { startProcesses } from '../../workers/index.ts';
import { subscription } from '../../machines/subscription.ts';
import { freePort } from '../../test/support/free-port.ts';
import { backendsCpuSeconds, processCpuSeconds, signals, type Provider, type System } from './harness.ts';

const quiet = { error() {}, warn() {}, info() {} };

async function startRedis(): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore', detached: true });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = createConnection(port, '127.0.0.1', () => (socket.end(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (up) return { url: `redis://127.0.0.1:${port}`, process: child };
    await sleep(50);
  }
  child.kill();
  throw new Error('redis-server did not start');
}

export async function startTollgate(url: string, database: string, provider: Provider, monitor: postgres.Sql, pool: number): Promise<System> {
  const redis = await startRedis();
  const tg = await createTollgate({
    machines: { subscription },
    database: { url, maxConnections: pool },
    inspect: (event) => {
      if (event.type === '@xstate.event' && event.event.type === 'PAYMENT_SUCCEEDED') signals.fire(`paid:tollgate:${event.actorRef.sessionId.slice('tollgate:subscription:'.length)}`);
    },
  });
  await tg.migrate();
  tg.effect('chargePayment', async (ctx) => {
    const chargeId = await provider.charge('tollgate', ctx.effectId, ctx.entityId);
    return { result: { chargeId }, event: { type: 'PAYMENT_SUCCEEDED', chargeId } };
  });
  tg.effect('sendEmail', async (ctx) => {
    await provider.email('tollgate', ctx.effectId, ctx.entityId);
  });
  const processes = await startProcesses(tg, { transport: 'bullmq', redisUrl: redis.url, queuePrefix: 'peers', concurrency: 32, relay: true, timers: false, eventWorkers: false, logger: quiet });
  return {
    name: 'tollgate',
    async create(id, key) {
      await tg.create('subscription', id, { customerId: id, plan: 'pro' }, { idempotencyKey: key });
    },
    async send(id, event, key) {
      await tg.send('subscription', id, event as Parameters<typeof tg.send>[2], { idempotencyKey: key });
    },
    async illegal(id) {
      try {
        await tg.send('subscription', id, { type: 'RESUME' });
        return 'accepted (!)';
      } catch (error) {
        return isTollgateError(error) ? `refused: ${error.code}, recorded` : `error: ${String(error)}`;
      }
    },
    async serverCpuSeconds() {
      const backends = await backendsCpuSeconds(monitor, [database]);
      return [...backends.values()].reduce((a, b) => a + b, 0) + processCpuSeconds(redis.process.pid);
    },
    async close() {
      await processes.stop();
      await tg.close();
      redis.process.kill();
    },
  };
}
