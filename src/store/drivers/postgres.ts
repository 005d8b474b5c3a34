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
  /** The main pool's size (default 10); the two small pools below add up to 7 connections, opened on first use. */
  readonly maxConnections?: number;
}

type Params = postgres.ParameterOrJSON<never>[];

/** Connections of the pool for statements planned on every run (the sweepers', the feed's and the import's batches). */
const plannedConnections = 4;
/** Connections of the pool for statements with cached index plans: the worker's read and record, the relay's claim (one each in flight). */
const indexedConnections = 3;
/** The connections the two small pools open at most, beside the main pool. */
export const smallPoolConnections = plannedConnections + indexedConnections;

/**
 * Postgres through postgres.js. Statements are prepared (named server-side statements reused per connection):
 * the gate issues the same few statements over and over, so Postgres parses and plans each once per connection.
 *
 * Statements run with `planEachRun` go to a second, small pool whose sessions have `plan_cache_mode =
 * force_custom_plan`: still prepared (one round trip, parsed once), but planned on every run. The alternative, an
 * unnamed statement, costs postgres.js two round trips when it has parameters (it describes the statement first)
 * and made the effect pipeline's statements twice as dear in round trips. Statements run with `indexPlan` go to a
 * third, smaller pool whose sessions have `enable_seqscan = off`: they keep cached plans, which read through their
 * index even when made on an empty table. Both pools open their connections on first use, so a process that runs no
 * relay, sweeper, feed or worker never opens one. In a transaction, a statement with either option runs unnamed
 * (planned for that run) on the transaction's connection.
 */
export function postgresClient(options: PostgresDriverOptions): SqlClient {
  const max = options.maxConnections ?? 10;
  const sql = postgres(options.url, {
    max,
    onnotice: () => {},
    // Timestamps come back as Date; bigint counts are cast to int in SQL.
    prepare: true,
  });
  const planned = postgres(options.url, {
    max: Math.min(plannedConnections, max),
    onnotice: () => {},
    prepare: true,
    connection: { plan_cache_mode: 'force_custom_plan' },
  });
  const indexed = postgres(options.url, {
    max: Math.min(indexedConnections, max),
    onnotice: () => {},
    prepare: true,
    connection: { enable_seqscan: 'off' },
  });
  const run = async <T>(query: () => Promise<unknown>): Promise<T[]> => {
    try {
      return (await query()) as T[];
    } catch (error) {
      throw unavailable(error, options.url);
    }
  };
  const runner = (tx: postgres.TransactionSql): SqlTransaction => ({
    query: <T extends object>(text: string, params: readonly unknown[] = [], how: QueryOptions = {}) =>
      run<T>(() => tx.unsafe(text, params as Params, { prepare: !how.planEachRun && !how.indexPlan })),
  });
  const base: SqlTransaction = {
    query: <T extends object>(text: string, params: readonly unknown[] = [], how: QueryOptions = {}) =>
      run<T>(() => (how.planEachRun ? planned : how.indexPlan ? indexed : sql).unsafe(text, params as Params, { prepare: true })),
  };
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
    close: async () => {
      await Promise.all([sql.end({ timeout: 5 }), planned.end({ timeout: 5 }), indexed.end({ timeout: 5 })]);
    },
  };
}
