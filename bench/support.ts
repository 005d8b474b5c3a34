import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';

/** Admin URL of the Postgres the benchmarks create their throw-away database on. */
export const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Creates a fresh database, returns its URL and a function that drops it. */
export async function scratchDatabase(prefix: string): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

/** Runs `op` `total` times with `concurrency` in flight; returns ops/s and latency percentiles in ms. */
export async function measure(total: number, concurrency: number, op: (i: number) => Promise<unknown>) {
  const latencies = new Float64Array(total);
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) {
        const t0 = performance.now();
        try {
          await op(i);
        } catch {
          errors++;
        }
        latencies[i] = performance.now() - t0;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  return { opsPerSec: total / seconds, p50: pct(0.5), p99: pct(0.99), errors };
}

/** Prints rows as a Markdown table (what the README shows). */
export function printTable(headers: string[], rows: Array<Array<string | number>>): void {
  printRow(headers);
  printRow(headers.map(() => '---'));
  for (const row of rows) printRow(row);
}

/** Prints one Markdown table row (a table printed as its rows complete). */
export function printRow(cells: Array<string | number>): void {
  console.log(`| ${cells.join(' | ')} |`);
}

/** The median of `values` (NaN when empty). */
export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** The `p`th percentile of already sorted values (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** A reading of the whole machine's CPU counters (/proc/stat; NaN where there is none). */
export interface CpuReading {
  readonly idle: number;
  readonly total: number;
}

/** Reads the machine's CPU counters now. */
export function cpuReading(): CpuReading {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { idle: (fields[3] ?? 0) + (fields[4] ?? 0), total: fields.reduce((a, b) => a + b, 0) };
  } catch {
    return { idle: NaN, total: NaN };
  }
}

/** The machine's CPU busy share (0..1, all cores) between two readings: what else was running shows here. */
export function busyBetween(a: CpuReading, b: CpuReading): number {
  return 1 - (b.idle - a.idle) / (b.total - a.total);
}

/** A share as a percentage, e.g. `87%`. */
export const percent = (share: number): string => (Number.isFinite(share) ? `${Math.round(share * 100)}%` : 'n/a');

/** CPU seconds used so far by the Postgres backends connected to database `name` (read from /proc; NaN elsewhere). */
export async function backendCpuSeconds(sql: postgres.Sql, name: string): Promise<Map<number, number>> {
  const rows = await sql<Array<{ pid: number }>>`SELECT pid FROM pg_stat_activity WHERE datname = ${name} AND pid <> pg_backend_pid()`;
  const seconds = new Map<number, number>();
  for (const { pid } of rows) {
    const used = processCpuSeconds(pid);
    if (!Number.isNaN(used)) seconds.set(pid, used);
  }
  return seconds;
}

/** CPU seconds process `pid` has used so far (utime + stime from /proc; NaN when it is gone or there is no /proc). */
export function processCpuSeconds(pid: number): number {
  try {
    // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100 per second).
    const after = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(after[11]) + Number(after[12])) / 100;
  } catch {
    return NaN;
  }
}

/** The server's connection slots: `max_connections`, the ones reserved for superusers, and the client backends now. */
export async function connectionSlots(sql: postgres.Sql): Promise<{ max: number; reserved: number; used: number }> {
  const [row] = await sql<Array<{ max: number; reserved: number; used: number }>>`
    SELECT current_setting('max_connections')::int AS max, current_setting('superuser_reserved_connections')::int AS reserved,
      (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS used`;
  return row!;
}

/** CPU seconds the backends present in both readings used between them. */
export function cpuSecondsBetween(a: Map<number, number>, b: Map<number, number>): number {
  let total = 0;
  for (const [pid, s] of b) total += s - (a.get(pid) ?? s);
  return total;
}
