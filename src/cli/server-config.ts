import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import type { ApiKeyEntry } from '../http/auth.ts';
import { parseApiKeys } from '../http/auth.ts';
import type { ServerOptions } from '../http/server.ts';
import { intFlag, UsageError } from './args.ts';

/** Flags of the commands that serve the API (serve, dev). */
export const serverFlags = {
  port: { type: 'string' },
  host: { type: 'string' },
  'keys-file': { type: 'string' },
  'body-limit': { type: 'string' },
  'rate-limit': { type: 'string' },
  'metrics-open': { type: 'boolean' },
  'log-level': { type: 'string' },
} as const;

export const serverFlagsHelp = (host: string, logLevel: string) => `  --port N            port to listen on (default 3000)
  --host ADDR         address to bind (default ${host})
  --keys-file FILE    API keys (JSON; default: $TOLLGATE_API_KEYS); make entries with \`tollgate keys new\`
  --body-limit BYTES  largest request body (default 65536)
  --rate-limit N      requests per second per key (default: no limit)
  --metrics-open      serve /metrics without a key (default: admin key needed)
  --log-level LEVEL   pino level: fatal, error, warn, info, debug (default ${logLevel})`;

export interface ServerFlags {
  readonly port?: string;
  readonly host?: string;
  readonly 'keys-file'?: string;
  readonly 'body-limit'?: string;
  readonly 'rate-limit'?: string;
  readonly 'metrics-open'?: boolean;
  readonly 'log-level'?: string;
}

/** The configured API keys (--keys-file wins over TOLLGATE_API_KEYS), or undefined when none are configured. */
export function loadKeys(flags: ServerFlags): ApiKeyEntry[] | undefined {
  const file = flags['keys-file'];
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --keys-file ${file}: ${(error as Error).message}`);
    }
    return parseApiKeys(text, file);
  }
  const env = process.env.TOLLGATE_API_KEYS;
  return env ? parseApiKeys(env, 'TOLLGATE_API_KEYS') : undefined;
}

/** Server options from the flags, except `auth` (which the command decides). */
export function serverOptionsOf(flags: ServerFlags, defaultLogLevel: string): Omit<ServerOptions, 'auth'> {
  const level = flags['log-level'] ?? process.env.TOLLGATE_LOG_LEVEL ?? defaultLogLevel;
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) throw new UsageError(`--log-level '${level}' is not a pino level.`);
  const rate = flags['rate-limit'] === undefined ? undefined : intFlag(flags['rate-limit'], 'rate-limit', 0);
  return {
    bodyLimit: intFlag(flags['body-limit'], 'body-limit', 64 * 1024, 1024, 64 * 1024 * 1024),
    metrics: flags['metrics-open'] ? 'open' : 'admin',
    ...(rate ? { rateLimit: { perSecond: rate } } : {}),
    logger: pino({ level, base: { service: 'tollgate' } }),
  };
}

/** Port and host to listen on. */
export function listenOf(flags: ServerFlags, defaultHost: string): { port: number; host: string } {
  return { port: intFlag(flags.port, 'port', 3000, 0, 65535), host: flags.host ?? defaultHost };
}

/** A readiness check that PINGs Redis. */
export function redisCheck(url: string): () => Promise<void> {
  return async () => {
    const { Redis } = await import('ioredis');
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1500, retryStrategy: () => null });
    redis.on('error', () => {}); // reported by the rejected ping
    try {
      await redis.connect();
      await redis.ping();
    } finally {
      redis.disconnect();
    }
  };
}
