import net from 'node:net';

/** The shared services of the machine and CI (see README "Tests"). Override with TEST_DATABASE_URL / TEST_REDIS_URL. */
export const adminDatabaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** NATS with JetStream (the lifecycle feed's sink). Override with TEST_NATS_URL. */
export const natsUrl = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
export const inCi = process.env.CI === 'true';

/** Whether something accepts TCP connections at the URL's host and port. */
export function reachable(url: string, timeoutMs = 1500): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) || 5432 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
