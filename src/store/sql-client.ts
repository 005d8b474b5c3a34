/**
 * The few things tollgate asks of a database connection. Postgres (postgres.js) and PGlite each implement it in
 * drivers/; everything above this line is shared, so both run the same SQL and the same test suite.
 */
export interface SqlClient {
  /** `postgres` for a server, `pglite` for the embedded database. */
  readonly dialect: 'postgres' | 'pglite';
  /** Runs one statement with `$n` parameters; returns its rows. */
  query<T extends object = Record<string, unknown>>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<T[]>;
  /** Runs statements separated by `;` with no parameters (migrations). */
  exec(text: string): Promise<void>;
  /** Runs `fn` in one transaction; rolls back if it throws. */
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  /** Calls `onNotify` for each NOTIFY on `channel`; resolves to an unsubscribe function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** Closes the connection(s). */
  close(): Promise<void>;
}

/** The statement runner inside a transaction. */
export interface SqlTransaction {
  query<T extends object = Record<string, unknown>>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<T[]>;
}

/** How one statement runs. */
export interface QueryOptions {
  /**
   * True: plan the statement on every run, for its parameters and the table's size now. Postgres caches a generic
   * plan per prepared statement, made with the statistics of that moment; for batch statements over a list of ids
   * or a backlog, a plan made while the table was small is a sequential scan, and it stays one while a backlog grows
   * until autoanalyze runs (measured: 1,000 instead of 3,000 effects/s). Planning costs 100-250 µs a run on a
   * 2-vCPU machine, so the statements run per effect use `indexPlan` instead; these are the sweepers', the feed's
   * and the import's, run per batch. The gate's statements keep their cached plans (plan-stability.test.ts):
   * re-planning its commit costs a fifth of its throughput.
   */
  readonly planEachRun?: boolean;
  /**
   * True: the statement has one right plan whatever the tables hold, through an index: rows by primary key
   * (`id = ANY(...)`, see ids.ts), or the oldest rows of a partial index in its order (the relay's claim). It keeps
   * a cached plan, made on sessions with sequential scans off, so that even a generic plan made while the table was
   * empty reads through that index; status tests that a partial index's predicate must not match are written
   * `(...) IS TRUE` (ids.ts). For the effect worker's read and record and the relay's claim: planned on every run,
   * their planning took 150-250 µs of Postgres CPU a run, about half of each statement's time (pg_stat_statements,
   * bench/effects at 200/s). test/store/plan-stability.test.ts checks each plan made on empty tables.
   */
  readonly indexPlan?: boolean;
}

/** For the batch statements of the sweepers, the feed and the import (see QueryOptions.planEachRun). */
export const planEachRun: QueryOptions = { planEachRun: true };

/** For the effect worker's batch statements by effect id and the relay's claim (see QueryOptions.indexPlan). */
export const indexPlan: QueryOptions = { indexPlan: true };

/** The Postgres error code of a driver error (`23505` unique violation), if it has one. */
export function pgErrorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** What a schema name may be: lower-case letters, digits and _, at most 63 (Postgres's limit), not starting with a digit. */
export const schemaNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;

/** Quotes a validated identifier (schema names come from configuration). */
export function quoteIdent(name: string): string {
  if (!schemaNamePattern.test(name)) {
    throw new Error(`'${name}' is not a valid schema name: use lower-case letters, digits and _ (at most 63).`);
  }
  return `"${name}"`;
}

/**
 * `values` as a Postgres array literal, to send as text and cast (`$1::text[]`): both drivers pass it alike, and the
 * planner reads the array (a list unpacked from JSON it cannot, and guesses).
 */
export function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}
