/**
 * What the soak reads each minute besides its own traffic: each process's memory and CPU from /proc, Postgres's
 * table and index sizes and its outbox and timer lag, Redis's used_memory.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type postgres from 'postgres';

const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds (user + system) and resident memory of one process, undefined once it is gone. */
export function procStat(pid: number): { cpuSeconds: number; rssBytes: number; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuSeconds, rssBytes: Number(rss?.[1] ?? 0) * 1024, ppid };
  } catch {
    return undefined;
  }
}

/**
 * Postgres as one figure: the postmaster and every backend it forked, CPU summed; memory as the sum of each one's
 * private anonymous memory (RssAnon: shared buffers, mapped by every backend, would be counted once per backend).
 */
export function postgresStat(postmasterPid: number): { cpuSeconds: number; rssBytes: number } | undefined {
  const own = procStat(postmasterPid);
  if (!own) return undefined;
  let cpuSeconds = own.cpuSeconds;
  let rssBytes = anonBytes(postmasterPid);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = procStat(pid);
    if (stat?.ppid !== postmasterPid) continue;
    cpuSeconds += stat.cpuSeconds;
    rssBytes += anonBytes(pid);
  }
  return { cpuSeconds, rssBytes };
}

function anonBytes(pid: number): number {
  try {
    return Number(/^RssAnon:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** The main tables, in the order the table prints them. */
export const tables = ['entities', 'transitions', 'effects', 'timers'] as const;

export interface DatabaseSample {
  /** Per table: heap (with TOAST) and index bytes. */
  readonly sizes: Record<(typeof tables)[number], { table: number; index: number }>;
  /** Rows inserted into transitions so far (every commit: requests, timers, follow-ups). */
  readonly transitionsInserted: number;
}

export async function databaseSample(sql: postgres.Sql): Promise<DatabaseSample> {
  const rows = await sql<{ name: string; table: string; index: string; inserted: string }[]>`
    SELECT c.relname AS name, pg_table_size(c.oid)::text AS table, pg_indexes_size(c.oid)::text AS index,
           coalesce(s.n_tup_ins, 0)::text AS inserted
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE n.nspname = 'tollgate' AND c.relname IN ${sql(tables as unknown as string[])}`;
  const sizes = Object.fromEntries(tables.map((t) => [t, { table: 0, index: 0 }])) as DatabaseSample['sizes'];
  let transitionsInserted = 0;
  for (const row of rows) {
    sizes[row.name as (typeof tables)[number]] = { table: Number(row.table), index: Number(row.index) };
    if (row.name === 'transitions') transitionsInserted = Number(row.inserted);
  }
  return { sizes, transitionsInserted };
}

/** Ages in seconds (0 when none): the oldest effect not yet handed over, not yet finished, the most overdue timer. */
export interface Lags {
  readonly outbox: number;
  readonly running: number;
  readonly timer: number;
}

/** Read through the partial indexes on pending effects, dispatched effects and scheduled timers: cheap at any size. */
export async function lags(sql: postgres.Sql): Promise<Lags> {
  const [row] = await sql<{ outbox: number; running: number; timer: number }[]>`
    SELECT coalesce(extract(epoch FROM now() - (SELECT min(created_at) FROM tollgate.effects WHERE status = 'pending')), 0)::float8 AS outbox,
           coalesce(extract(epoch FROM now() - (SELECT min(dispatched_at) FROM tollgate.effects WHERE status = 'dispatched')), 0)::float8 AS running,
           greatest(0, coalesce(extract(epoch FROM now() - (SELECT min(due_at) FROM tollgate.timers WHERE status = 'scheduled')), 0))::float8 AS timer`;
  return { outbox: row?.outbox ?? 0, running: row?.running ?? 0, timer: row?.timer ?? 0 };
}
