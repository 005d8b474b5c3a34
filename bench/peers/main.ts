/**
 * The peers bench (run by bench/peers.ts; see there): the same subscription lifecycle on tollgate, Restate and
 * DBOS Transact, same machine, same Postgres server, same client concurrency, systems alternating, medians.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { adminUrl, busyBetween, connectionSlots, cpuReading, median, percent, percentile, printTable, scratchDatabase } from '../support.ts';
import { duplicatedLifecycle, lifecycle, loadAverage, Provider, type LifecycleTimes, type System } from './harness.ts';
import { startDbos } from './dbos.ts';
import { startRestate } from './restate.ts';
import { startTollgate } from './tollgate.ts';
import { smallPoolConnections } from '../../src/store/drivers/postgres.ts';

/** The peers' pinned versions, as bench/peers/package.json names them. */
const pinned = (JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
const RESTATE_VERSION = pinned['@restatedev/restate-server'];
const DBOS_VERSION = pinned['@dbos-inc/dbos-sdk'];
const quick = process.argv.includes('--quick');
const levels = (process.env.BENCH_PEERS_LEVELS ?? (quick ? '1,32' : '1,8,32,64')).split(',').map(Number);
const runSeconds = Number(process.env.BENCH_PEERS_SECONDS ?? (quick ? 3 : 8));
const warmSeconds = Number(process.env.BENCH_PEERS_WARM_SECONDS ?? (quick ? 1 : 2));
const runs = Number(process.env.BENCH_PEERS_RUNS ?? (quick ? 1 : 3));
const duplicates = Number(process.env.BENCH_PEERS_DUPLICATES ?? (quick ? 50 : 200));
const only = new Set((process.env.BENCH_PEERS_SYSTEMS ?? 'tollgate,restate,dbos').split(','));
/** Connections of each system's own pool to its database: tollgate's gate pool, DBOS's app pool. */
const pool = Number(process.env.BENCH_PEERS_POOL ?? 24);
/** DBOS's system database pool (its default is 10). */
const dbosSystemPool = 16;
/** tollgate's two small pools beside the gate's, opened by the relay and the effect worker. */
const tollgateSmallPools = smallPoolConnections;
/** The provider's pool (harness.ts) and the monitor's connection. */
const benchConnections = 8 + 1;
/** Events committed per lifecycle: create, UPGRADE, the follow-up PAYMENT_SUCCEEDED, CANCEL. */
const eventsPerLifecycle = 4;

/** Set by Ctrl-C: no lifecycle starts after it; the running ones finish, then the systems stop. */
let stopping = false;
let running = 0;
async function tracked<T>(work: () => Promise<T>): Promise<T> {
  running++;
  try {
    return await work();
  } finally {
    running--;
  }
}

interface Run {
  eventsPerSec: number;
  accepted: number[];
  handler: number[];
  followUp: number[];
  cpuPer1k: number;
  busy: number;
  errors: number;
}

/** Lifecycles at `concurrency` started for `seconds` (the ones started are all finished and counted). */
async function runFor(system: System, concurrency: number, seconds: number, tag: string): Promise<Run> {
  const times: LifecycleTimes[] = [];
  let errors = 0;
  let next = 0;
  let firstError: unknown;
  const machine = cpuReading();
  const here = process.cpuUsage();
  const servers = await system.serverCpuSeconds();
  const began = performance.now();
  const until = began + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!stopping && performance.now() < until) {
        const id = `${tag}-${next++}`;
        try {
          times.push(await tracked(() => lifecycle(system, id)));
        } catch (error) {
          firstError ??= error;
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - began) / 1000;
  const cpu = process.cpuUsage(here);
  const serverSeconds = (await system.serverCpuSeconds()) - servers;
  if (firstError) console.error(`${system.name} c=${concurrency}: ${errors} lifecycles failed; first: ${String(firstError)}`);
  const events = times.length * eventsPerLifecycle;
  const sorted = (xs: number[]) => xs.sort((a, b) => a - b);
  return {
    eventsPerSec: events / elapsed,
    accepted: sorted(times.flatMap((t) => t.accepted)),
    handler: sorted(times.map((t) => t.handlerStarted)),
    followUp: sorted(times.map((t) => t.followUp)),
    cpuPer1k: (((cpu.user + cpu.system) / 1e6 + serverSeconds) * 1000) / Math.max(1, events),
    busy: busyBetween(machine, cpuReading()),
    errors,
  };
}

/**
 * Every system stays connected while the others run, so the bench needs all their pools at once. Fails before it
 * starts, naming the numbers, when the server has fewer free connection slots (a default server has 100).
 */
async function checkConnectionBudget(monitor: postgres.Sql): Promise<void> {
  const need = (only.has('tollgate') ? pool + tollgateSmallPools : 0) + (only.has('dbos') ? pool + dbosSystemPool : 0) + benchConnections;
  const slots = await connectionSlots(monitor);
  const free = slots.max - slots.reserved - slots.used;
  if (free < need) {
    throw new Error(
      `bench/peers needs ${need} Postgres connections at once (pools of ${pool} per system, BENCH_PEERS_POOL), and the server has ${free} free ` +
        `(max_connections ${slots.max}, ${slots.reserved} reserved, ${slots.used} in use): lower BENCH_PEERS_POOL or raise max_connections`,
    );
  }
}

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  const provider = await scratchDatabase('tg_peers_provider');
  const tgDb = await scratchDatabase('tg_peers_tollgate');
  const dbosApp = await scratchDatabase('tg_peers_dbos_app');
  const dbosSys = await scratchDatabase('tg_peers_dbos_sys');
  const monitor = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const prov = new Provider(provider.url);
  const systems: System[] = [];
  let cleaned: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaned ??= (async () => {
      for (const system of systems) await system.close().catch((e: unknown) => console.error(e));
      await prov.close();
      await monitor.end();
      for (const db of [provider, tgDb, dbosApp, dbosSys]) await db.drop().catch(() => {});
    })());
  // Ctrl-C: let the running lifecycles finish (10 s at most), stop the systems (tollgate's redis-server,
  // restate-server) and drop the scratch databases, then exit.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopping = true;
      console.error(`bench/peers: ${signal}: stopping the systems and dropping the scratch databases`);
      void (async () => {
        const deadline = performance.now() + 10_000;
        while (running > 0 && performance.now() < deadline) await sleep(50);
        await cleanUp();
      })().finally(() => process.exit(130));
    });
  }
  try {
    await checkConnectionBudget(monitor);
    await prov.migrate();
    if (only.has('tollgate')) systems.push(await startTollgate(tgDb.url, tgDb.name, prov, monitor, pool));
    if (only.has('restate')) systems.push(await startRestate(prov));
    if (only.has('dbos')) systems.push(await startDbos(dbosApp.url, dbosApp.name, dbosSys.url, dbosSys.name, prov, monitor, { app: pool, system: dbosSystemPool }));

    console.log(`\n## tollgate against Restate and DBOS Transact: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), load average ${loadBefore} at start`);
    console.log(`lifecycle: create, UPGRADE (one charge effect; the handler records its key at the provider and answers PAYMENT_SUCCEEDED), CANCEL (one email effect); ${eventsPerLifecycle} events per lifecycle`);
    console.log(`${runSeconds}s per run after ${warmSeconds}s of warm-up per level and system, ${runs} runs per level, systems rotating; medians`);
    console.log(`connections: tollgate's gate pool ${pool} (+${tollgateSmallPools} for its relay and worker), DBOS's app pool ${pool} (+${dbosSystemPool} to its system database)`);
    console.log(`tollgate: gate + relay + effect worker (BullMQ, its own redis-server) in this process; Restate ${RESTATE_VERSION} (${process.env.BENCH_PEERS_RESTATE_PARTITIONS ?? 24} partitions), endpoint in this process; DBOS ${DBOS_VERSION} in this process\n`);

    // Correctness first: what an illegal event does, and every request delivered twice with one key.
    const checks = new Map<string, { illegal: string; duplicates: string }>();
    for (const system of systems) {
      const probe = `probe-${system.name}`;
      await system.create(probe, `create-${probe}`);
      const illegal = await system.illegal(probe);
      const prefix = `dup-${system.name}-`;
      let next = 0;
      let failed = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let i = next++; i < duplicates && !stopping; i = next++) await tracked(() => duplicatedLifecycle(system, `${prefix}${i}`)).catch(() => failed++);
        }),
      );
      await sleep(2000); // a second delivery still running would show as a second charge
      const c = await prov.chargesOf(system.name, prefix);
      const ok = c.rows === duplicates && c.entities === duplicates && c.emails === duplicates && failed === 0;
      checks.set(system.name, { illegal, duplicates: `${ok ? 'pass' : 'FAIL'}: ${duplicates} lifecycles, ${c.rows} charges, ${c.emails} emails, ${c.extra} repeated provider calls${failed ? `, ${failed} failed` : ''}` });
    }

    if (stopping) return;
    const results = new Map<string, Map<number, Run[]>>(systems.map((s) => [s.name, new Map()]));
    let tag = 0;
    for (const concurrency of levels) {
      for (const system of systems) await runFor(system, concurrency, warmSeconds, `w${tag++}-${system.name}`);
      for (let run = 0; run < runs; run++) {
        for (let k = 0; k < systems.length; k++) {
          const system = systems[(run + k) % systems.length]!;
          const r = await runFor(system, concurrency, runSeconds, `r${tag++}-${system.name}`);
          if (stopping) return; // interrupted: the signal's handler cleans up and exits
          const list = results.get(system.name)!;
          list.set(concurrency, [...(list.get(concurrency) ?? []), r]);
          console.error(`c=${concurrency} ${system.name}: ${r.eventsPerSec.toFixed(0)} events/s, accepted p99 ${percentile(r.accepted, 99).toFixed(1)} ms, busy ${percent(r.busy)}, load ${loadAverage()}`);
        }
      }
    }

    const med = (rs: Run[], f: (r: Run) => number) => median(rs.map(f));
    const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
    const rows: Array<Array<string | number>> = [];
    for (const concurrency of levels) {
      const ours = results.get('tollgate')?.get(concurrency);
      for (const system of systems) {
        const rs = results.get(system.name)!.get(concurrency) ?? [];
        const rate = med(rs, (r) => r.eventsPerSec);
        const p99 = med(rs, (r) => percentile(r.accepted, 99));
        const ratio = ours && system.name !== 'tollgate' ? `${(med(ours, (r) => r.eventsPerSec) / rate).toFixed(2)}x / ${(med(ours, (r) => percentile(r.accepted, 99)) / p99).toFixed(2)}x` : '';
        rows.push([
          concurrency,
          system.name,
          rate.toFixed(0),
          `${ms(med(rs, (r) => percentile(r.accepted, 50)))} / ${ms(p99)}`,
          `${ms(med(rs, (r) => percentile(r.handler, 50)))} / ${ms(med(rs, (r) => percentile(r.handler, 99)))}`,
          `${ms(med(rs, (r) => percentile(r.followUp, 50)))} / ${ms(med(rs, (r) => percentile(r.followUp, 99)))}`,
          med(rs, (r) => r.cpuPer1k).toFixed(2),
          ratio,
          rs.map((r) => r.eventsPerSec.toFixed(0)).join(', '),
          percent(med(rs, (r) => r.busy)),
          rs.reduce((n, r) => n + r.errors, 0),
        ]);
      }
    }
    printTable(
      ['concurrency', 'system', 'events/s', 'accepted p50 / p99 ms', 'accepted -> handler started p50 / p99 ms', 'accepted -> follow-up committed p50 / p99 ms', 'CPU s per 1,000 events', 'tollgate / peer: events/s (above 1: tollgate ahead), accepted p99 (below 1: tollgate ahead)', 'events/s each run', 'machine CPU busy', 'failed lifecycles'],
      rows,
    );
    console.log('');
    const capability = (name: string) => CAPABILITIES[name] ?? { policy: '', history: '' };
    printTable(
      ['system', 'every request twice, same key', 'illegal event (RESUME in trial)', 'policy / freezes', 'history'],
      systems.map((s) => [s.name, checks.get(s.name)!.duplicates, checks.get(s.name)!.illegal, capability(s.name).policy, capability(s.name).history]),
    );
    console.log(`\nload average ${loadBefore} at start, ${loadAverage()} at end`);
    console.log('CPU: this process (client, app runtime, effect handlers) + the system\'s servers (Redis, restate-server) + its Postgres backends; the provider\'s database is not counted.');
  } finally {
    // After Ctrl-C the signal's handler cleans up and exits; the measurement loops just stop starting work.
    if (stopping) await new Promise<never>(() => {});
    await cleanUp();
  }
}

/** What tollgate does that a peer leaves to the application (printed beside the measured checks). */
const CAPABILITIES: Record<string, { policy: string; history: string }> = {
  tollgate: { policy: 'versioned policies and freezes in the gate', history: 'every transition, with key, actor, from/to' },
  restate: { policy: 'none (write it in each handler)', history: 'none kept (journal for the retention period)' },
  dbos: { policy: 'none (write it in the workflow)', history: 'workflow inputs/outputs, not per entity' },
};

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
