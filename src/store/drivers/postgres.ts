import postgres from 'postgres';
import { TollgateError } from '../../errors.ts';
import type { QueryOptions, SqlClient, SqlTransaction } from '../sql-client.ts';

// Errors that mean "the database cannot be reached right now", not "this statement is wrong".
const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

/** Maps connection failures to TG_DATABASE_UNAVAILABLE (retryable); other errors pass through unchanged. */
function unavailable(error: unknown, url: string): unknown {
  const code = (error as { code?: unknown }).code;
  const sqlState = typeof code === 'string' ? code : '';
  if (!unreachableCodes.has(sqlState) && !sqlState.startsWith('08')) return error;
  const where = new URL(url);
  return new TollgateError(
    'TG_DATABASE_UNAVAILABLE',
    `Postgres at ${where.hostname}:${where.port || 5432} cannot be reached (${sqlState}). Nothing was written by this call; retry when the database is back.`,
    { host: where.hostname, port: Number(where.port || 5432), cause: sqlState },
    { cause: error },
  );
}

/** Options of the Postgres driver. */
export interface PostgresDriverOptions {
  /** Connection string, e.g. `postgres://postgres@127.0.0.1:5432/app`. */
  readonly url: string;
  /** Pool size. Default 10. */
  readonly maxConnections?: number;
}

type Params = postgres.ParameterOrJSON<never>[];

/**
 * Postgres through postgres.js. Statements are prepared (named server-side statements reused per connection):
 * the gate issues the same few statements over and over, so Postgres parses and plans each once per connection.
 */
export function postgresClient(options: PostgresDriverOptions): SqlClient {
  const sql = postgres(options.url, {
    max: options.maxConnections ?? 10,
    onnotice: () => {},
    // Timestamps come back as Date; bigint counts are cast to int in SQL.
    prepare: true,
  });
  const runner = (s: postgres.Sql | postgres.TransactionSql): SqlTransaction => ({
    query: async <T extends object>(text: string, params: readonly unknown[] = [], run: QueryOptions = {}) => {
      try {
        return (await s.unsafe(text, params as Params, { prepare: run.prepared ?? true })) as unknown as T[];
      } catch (error) {
        throw unavailable(error, options.url);
      }
    },
  });
  const base = runner(sql);
  return {
    dialect: 'postgres',
    query: base.query,
    exec: async (text) => {
      await sql.unsafe(text);
    },
    transaction: async (fn) => {
      try {
        return (await sql.begin((tx) => fn(runner(tx)))) as Awaited<ReturnType<typeof fn>>;
      } catch (error) {
        throw unavailable(error, options.url);
      }
    },
    listen: async (channel, onNotify) => {
      const { unlisten } = await sql.listen(channel, onNotify);
      return unlisten;
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
