import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { describe, expect, inject, it } from 'vitest';
import { testDatabaseUrl } from '../support/databases.ts';
import { freePort, uniquePrefix } from '../support/redis.ts';
import { runCli, startDaemon } from './support.ts';

// A worker started while its database cannot be reached (a deploy that starts both, Postgres in crash recovery)
// waits for it and starts, instead of exiting (chaos found it exiting: nothing restarted it). The database "comes
// up" as a TCP forwarder to the test Postgres, opened on the port the worker was pointed at only after it started.

function forwarder(port: number, to: URL): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(to.port || 5432), to.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  // Closing ends the forwarded connections too (server.close alone waits for them).
  const close = server.close.bind(server);
  server.close = (done) => {
    for (const s of sockets) s.destroy();
    return close(done);
  };
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

describe('long-running commands at start', () => {
  it('a worker whose database cannot be reached says so, keeps trying, and starts once it answers', async () => {
    const redisUrl = inject('redisUrl');
    if (!redisUrl) throw new Error('this test needs Redis (see test/support/global-setup.ts); it is never skipped');
    const real = new URL(await testDatabaseUrl());
    const env = { TOLLGATE_SCHEMA: `wait_${randomBytes(4).toString('hex')}`, TOLLGATE_LOG_LEVEL: 'warn' };
    expect((await runCli(['migrate'], { env: { ...env, DATABASE_URL: real.toString() } })).code).toBe(0);

    const port = await freePort();
    const away = new URL(real);
    away.port = String(port);
    let waiting: () => void = () => {};
    const saidWaiting = new Promise<void>((resolve) => (waiting = resolve));
    const worker = startDaemon(['worker', '--concurrency', '2'], /tollgate worker: running /, {
      env: { ...env, DATABASE_URL: away.toString(), REDIS_URL: redisUrl, TOLLGATE_QUEUE_PREFIX: uniquePrefix(redisUrl), TOLLGATE_START_WAIT_SECONDS: '60' },
      timeoutMs: 60_000,
      onStderr: (stderr) => /trying again/.test(stderr) && waiting(),
    });
    // Once it has found the database down (and said so), and 2 s more, the database answers on that port.
    await Promise.race([saidWaiting, worker]);
    await new Promise((r) => setTimeout(r, 2000));
    const started = Date.now();
    const server = await forwarder(port, real);
    try {
      const daemon = await worker.catch((error: Error) => {
        throw new Error(`the worker did not start once the database answered: ${error.message}`);
      });
      expect(Date.now() - started).toBeLessThan(30_000);
      const { stderr } = daemon.output();
      expect(stderr).toMatch(/tollgate worker: the database cannot be reached .*; trying again for up to 60 s/);
      expect(stderr).toContain('tollgate worker: the database answers; starting');
      // A SIGTERM within milliseconds of the start line after a waited start sometimes ends the process by the
      // signal's default action (about 1 in 4 here; no listener removal was seen; open, see the closing note), so
      // the graceful stop is asked for a moment later.
      await new Promise((r) => setTimeout(r, 1000));
      expect(await daemon.stop()).toBe(0);
    } finally {
      await new Promise((r) => server.close(r));
    }
  }, 90_000);

  it('gives up after TOLLGATE_START_WAIT_SECONDS with exit 3, and refuses a wait that is not a number', async () => {
    const port = await freePort();
    const database = `postgres://postgres@127.0.0.1:${port}/none`;
    const started = Date.now();
    const [short, bad] = await Promise.all([
      runCli(['relay', '--database-url', database, '--redis-url', `redis://127.0.0.1:${port}`], { env: { TOLLGATE_START_WAIT_SECONDS: '2' }, timeoutMs: 30_000 }),
      runCli(['relay', '--database-url', database, '--redis-url', `redis://127.0.0.1:${port}`], { env: { TOLLGATE_START_WAIT_SECONDS: 'soon' } }),
    ]);
    expect(short.code).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(short.stderr).toMatch(/trying again for up to 2 s/);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("TOLLGATE_START_WAIT_SECONDS must be a number of seconds >= 0, not 'soon'");
  }, 60_000);
});
