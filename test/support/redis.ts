import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, inject } from 'vitest';
import { freePort } from './free-port.ts';

/** The shared test Redis URL, or '' when it is not reachable (then Redis suites are skipped; CI fails instead). */
export function sharedRedisUrl(): string {
  return inject('redisUrl');
}

const prefixes: Array<{ url: string; prefix: string }> = [];

/** A BullMQ key prefix of this test's own; its keys are deleted after the file. */
export function uniquePrefix(url = sharedRedisUrl()): string {
  const prefix = `tgtest_${process.pid}_${randomBytes(4).toString('hex')}`;
  prefixes.push({ url, prefix });
  return prefix;
}

afterAll(async () => {
  for (const { url, prefix } of prefixes.splice(0)) {
    const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
    redis.on('error', () => {});
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
    } catch {
      // A private server already stopped: nothing to clean.
    } finally {
      redis.disconnect();
    }
  }
});

export { freePort } from './free-port.ts';

/**
 * A redis-server of this test's own (never the shared one), without persistence, so `restart()` is a Redis that
 * lost everything: what tollgate must survive.
 */
export class PrivateRedis {
  #child: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const server = new PrivateRedis(await freePort());
    await server.#spawn();
    privateServers.push(server);
    return server;
  }

  async #spawn(): Promise<void> {
    this.#child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      if (await ping(this.port)) return;
      await sleep(50);
    }
    throw new Error(`redis-server on port ${this.port} did not start`);
  }

  /** `SHUTDOWN NOSAVE`: every job and lock is gone. */
  async shutdownNoSave(): Promise<void> {
    const redis = new Redis(this.url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
    redis.on('error', () => {});
    await redis.call('SHUTDOWN', 'NOSAVE').catch(() => {});
    redis.disconnect();
    const child = this.#child;
    if (child && child.exitCode === null) await new Promise((r) => child.once('exit', r));
  }

  /** Starts the server again on the same port, empty. */
  async start(): Promise<void> {
    await this.#spawn();
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  }
}

const privateServers: PrivateRedis[] = [];
afterAll(async () => {
  await Promise.all(privateServers.splice(0).map((s) => s.stop()));
});

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.write('PING\r\n');
    });
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}
