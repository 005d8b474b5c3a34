import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** Admin URL of the Postgres the benchmarks create their throw-away database on. */
export const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Creates a fresh database, returns its URL and a function that drops it. */
export async function scratchDatabase(prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
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
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  console.log(line(headers));
  console.log(line(headers.map(() => '---')));
  for (const row of rows) console.log(line(row));
}
