/**
 * `tollgate import` throughput on real Postgres (issue 18 bar: at least 5,000 entities/s), beside a plain COPY of
 * the same rows in the same run.
 *
 * BENCH_ENTITIES (default 100,000) records spread over every resting state of the three shipped machines (parallel
 * states included; one in ten entered its state long ago, so its timers are due at import), as NDJSON lines. Then
 * BENCH_RUNS times (default 3), alternating which goes first:
 *   - import: `tg.import(machine, lines)` into a freshly migrated schema: parse, check against the machine, build the
 *     snapshot, and write entities, `$imported` history rows and timers in batches (BENCH_BATCH, default 1,000), with
 *     the legality and per-state count triggers on, as a user's import runs;
 *   - COPY: the same rows (entities, history rows, timers, prepared beforehand by the same code, not timed) with
 *     COPY ... FROM STDIN into tables made LIKE tollgate's (same columns, indexes and defaults, no triggers): the floor
 *     of writing those rows at all.
 * Medians of the runs, the ratio, and the load average before and after: the machine is shared with other
 * engineers' work (tests, benches), so absolute numbers move with it; read the two rows against each other.
 * Run: npx tsx bench/import.ts
 */
import os from 'node:os';
import postgres from 'postgres';
import { machines } from '../machines/index.ts';
import type { AnyMachineDefinition } from '../src/engine/definition.ts';
import { createTollgate } from '../src/index.ts';
import { prepareImport } from '../src/runtime/import-record.ts';
import type { ImportRow } from '../src/store/import-statement.ts';
import { generateRecords } from '../test/fixtures/import-records.ts';
import { median, printTable, scratchDatabase } from './support.ts';

const total = Number(process.env.BENCH_ENTITIES ?? 100_000);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const batch = Number(process.env.BENCH_BATCH ?? 1000);
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(', ');
const shipped = ['subscription', 'order', 'payout'] as const;

async function main(): Promise<void> {
  console.log(`load average before: ${load()} (${os.cpus().length} CPUs, shared with other engineers' tests and benches)`);
  const now = Date.now();
  const lines = new Map(shipped.map((m, i) => [m, generateRecords(m, Math.floor(total / 3) + (i === 0 ? total % 3 : 0), now).map((r) => JSON.stringify(r))]));
  const db = await scratchDatabase('tg_bench_import');
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  const results: Array<{ import: number; copy: number }> = [];
  try {
    for (let run = 0; run < runs; run++) {
      const one = { import: 0, copy: 0 };
      const order = run % 2 === 0 ? (['import', 'copy'] as const) : (['copy', 'import'] as const);
      for (const kind of order) {
        if (kind === 'import') one.import = await timeImport(db.url, `imp_${run}`, lines);
        else one.copy = await timeCopy(sql, db.url, `imp_${run}`, `copy_${run}`, lines, now);
      }
      console.log(`run ${run + 1}: import ${Math.round(total / one.import)} entities/s, COPY ${Math.round(total / one.copy)} rows-of-an-entity/s (load ${load()})`);
      results.push(one);
    }
    const imp = median(results.map((r) => r.import));
    const copy = median(results.map((r) => r.copy));
    console.log(`\n${total.toLocaleString('en-US')} entities of ${shipped.join(', ')}, batches of ${batch}, medians of ${runs} runs\n`);
    printTable(
      ['what', 'seconds', 'entities/s', 'vs COPY'],
      [
        ['tollgate import (checked, history rows, timers, triggers on)', imp.toFixed(2), Math.round(total / imp), `${(imp / copy).toFixed(2)}x the time`],
        ['plain COPY of the same rows (no checks, no triggers)', copy.toFixed(2), Math.round(total / copy), '1.00x'],
      ],
    );
    console.log(`\nload average after: ${load()}`);
  } finally {
    await sql.end();
    await db.drop();
  }
}

async function timeImport(url: string, schema: string, lines: Map<string, string[]>): Promise<number> {
  const tg = await createTollgate({ machines, database: { url, maxConnections: 4 }, schema });
  await tg.migrate();
  const started = performance.now();
  for (const [machine, list] of lines) {
    const report = await tg.import(machine as (typeof shipped)[number], list, { batch });
    if (report.imported !== list.length) throw new Error(`${machine}: imported ${report.imported} of ${list.length}: ${JSON.stringify(report.errors.slice(0, 3))}`);
  }
  const seconds = (performance.now() - started) / 1000;
  await tg.close();
  return seconds;
}

async function timeCopy(sql: postgres.Sql, url: string, source: string, schema: string, lines: Map<string, string[]>, now: number): Promise<number> {
  // The tables as tollgate's (a migrated schema first, when the import has not made it yet), without triggers.
  const tg = await createTollgate({ machines, database: { url, maxConnections: 2 }, schema: source });
  await tg.migrate();
  await tg.close();
  await sql.unsafe(`CREATE SCHEMA ${schema}`);
  for (const table of ['entities', 'transitions', 'timers']) await sql.unsafe(`CREATE TABLE ${schema}.${table} (LIKE ${source}.${table} INCLUDING ALL)`);
  const rows: Array<{ machine: string; row: ImportRow }> = [];
  for (const [machine, list] of lines) {
    const definition = machines[machine as (typeof shipped)[number]] as AnyMachineDefinition;
    for (const line of list) rows.push({ machine, row: prepareImport(definition, machine, line, new Date(now)).row });
  }
  const at = new Date(now).toISOString();
  const entities = rows.map(({ machine, row: r }) => csv([machine, r.id, r.machine_version, JSON.stringify(r.snapshot), r.state, 1, r.state_entered_at, at, at]));
  const history = rows.map(({ machine, row: r }) =>
    csv([r.transition_id, machine, r.id, 1, '$imported', JSON.stringify(r.event), null, r.state, JSON.stringify(r.snapshot), r.state_entered_at, '$imported', r.fingerprint, r.machine_version, null, 'tollgate import', at]),
  );
  const timers = rows.flatMap(({ machine, row: r }) => r.timers.map((t) => csv([t.id, machine, r.id, r.transition_id, t.send_id, JSON.stringify(t.event), t.due_at, 'scheduled', r.state_entered_at])));
  const started = performance.now();
  await copy(sql, `${schema}.entities (machine, id, machine_version, snapshot, state, version, state_entered_at, created_at, updated_at)`, entities);
  await copy(sql, `${schema}.transitions (id, machine, entity_id, seq, event_type, event, from_state, to_state, snapshot, state_entered_at, idempotency_key, fingerprint, machine_version, policy_version, actor, created_at)`, history);
  await copy(sql, `${schema}.timers (id, machine, entity_id, transition_id, send_id, event, due_at, status, created_at)`, timers);
  return (performance.now() - started) / 1000;
}

async function copy(sql: postgres.Sql, target: string, lines: string[]): Promise<void> {
  const stream = await sql.unsafe(`COPY ${target} FROM STDIN WITH (FORMAT csv)`).writable();
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('finish', resolve);
    const chunk = 5000;
    let i = 0;
    const write = () => {
      while (i < lines.length) {
        const ok = stream.write(`${lines.slice(i, i + chunk).join('\n')}\n`);
        i += chunk;
        if (!ok) return void stream.once('drain', write);
      }
      stream.end();
    };
    write();
  });
}

function csv(values: ReadonlyArray<string | number | null>): string {
  return values.map((v) => (v === null ? '' : typeof v === 'number' ? String(v) : `"${v.replaceAll('"', '""')}"`)).join(',');
}

await main();
