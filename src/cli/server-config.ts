import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pino } from 'pino';
import type { ApiKeyEntry } from '../http/auth.ts';
import { parseApiKeys } from '../http/auth.ts';
import type { ServerOptions } from '../http/server.ts';
import { intFlag, UsageError } from './args.ts';
import { appConfig } from './config-file.ts';

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

export const serverFlagsHelp = (host: string, logLevel: string) => `  --port N            port to listen on (default: the config's port, or 3000)
  --host ADDR         address to bind (default ${host})
  --keys-file FILE    API keys (JSON; default: $TOLLGATE_API_KEYS, else the config's keys); make entries with
                      \`tollgate keys new\`
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

/** The configured API keys (--keys-file, else TOLLGATE_API_KEYS, else the config's `keys`), or undefined when none are. */
export async function loadKeys(flags: ServerFlags): Promise<ApiKeyEntry[] | undefined> {
  const file = flags['keys-file'];
  if (file) return parseApiKeys(readKeyFile(file, '--keys-file'), file);
  const env = process.env.TOLLGATE_API_KEYS;
  if (env) return parseApiKeys(env, 'TOLLGATE_API_KEYS');
  const loaded = await appConfig();
  const keys = loaded?.config.keys;
  if (keys === undefined) return undefined;
  if (typeof keys === 'string') {
    const path = resolve(loaded?.dir ?? '.', keys);
    return parseApiKeys(readKeyFile(path, `the keys file of ${loaded?.file}`), path);
  }
  return parseApiKeys(JSON.stringify(keys), `the keys of ${loaded?.file}`);
}

function readKeyFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${file}: ${(error as Error).message}`);
  }
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

/** Port and host to listen on: the flags, else the config's port, else 3000. */
export async function listenOf(flags: ServerFlags, defaultHost: string): Promise<{ port: number; host: string }> {
  const port = (await appConfig())?.config.port ?? 3000;
  return { port: intFlag(flags.port, 'port', port, 0, 65535), host: flags.host ?? defaultHost };
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
