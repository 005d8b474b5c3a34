/**
 * `npm run chaos -- [--minutes 5] [--seed N] [--quick]`: a deployment of its own (Postgres, Redis, serve x2,
 * worker x2, relay) under HTTP traffic while faults are injected on a seeded schedule; then the invariants of
 * "nothing lost, nothing doubled", each with its figure and pass/fail. Exit 1 on any violation (rerun with the
 * printed --seed). `--quick`: one fault of each kind, about 90 seconds (what `npm test` runs).
 */
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { Cluster, freePort, LOCK_DURATION_MS, type TollgateProcess } from './cluster.ts';
import { checkInvariants, type Ledger } from './invariants.ts';
import { Traffic } from './traffic.ts';

export interface ChaosOptions {
  readonly minutes: number;
  readonly seed: number;
  readonly quick: boolean;
  readonly print: (line: string) => void;
}

/** A seeded generator (mulberry32): the same seed, the same fault schedule. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const faultKinds = [
  'kill-serve',
  'kill-worker',
  'kill-relay',
  'stall-worker',
  'kill-redis',
  'stop-redis',
  'crash-postgres',
  'restart-postgres',
  'lock-entities',
  'exhaust-connections',
  'all-at-once',
] as const;
export type FaultKind = (typeof faultKinds)[number];

/** Runs the scenario; resolves to the exit code. */
export async function runChaos(options: ChaosOptions): Promise<number> {
  const { print } = options;
  const rand = random(options.seed);
  const durationMs = options.quick ? 90_000 : options.minutes * 60_000;
  print(`chaos: seed ${options.seed}, ${options.quick ? 'quick (one fault of each kind)' : `${options.minutes} min`}`);
  const cluster = await Cluster.start(print);
  const removeSignalHandler = cluster.destroyOnSignal((line) => print(`chaos: ${line}`));
  const admin = postgres(cluster.databaseUrl, { max: 2, onnotice: () => {}, connect_timeout: 5 });
  try {
    const serves = [await cluster.spawnTollgate('serve', 'serve-1', await freePort()), await cluster.spawnTollgate('serve', 'serve-2', await freePort())];
    const workers = [await cluster.spawnTollgate('worker', 'worker-1'), await cluster.spawnTollgate('worker', 'worker-2')];
    const relay = await cluster.spawnTollgate('relay', 'relay');
    print(`processes: ${cluster.processes.map((p) => `${p.name} pid ${p.child?.pid}`).join(', ')}`);

    const traffic = new Traffic(serves.map((s) => s.url as string), cluster.apiKey, options.seed);
    const trafficDone = traffic.run(durationMs, options.quick ? 6 : 8);

    // The schedule: every kind once (all-at-once last) in the quick run; otherwise seeded picks until the end,
    // every kind at least once, all at once at least once.
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
    const schedule: FaultKind[] = options.quick ? [...faultKinds] : [];
    const faults = new Map<FaultKind, number>();
    const restarting = new Map<TollgateProcess, Promise<void>>();
    const inject = async (kind: FaultKind): Promise<void> => {
      faults.set(kind, (faults.get(kind) ?? 0) + 1);
      // The kill is the fault; the restart (seconds of start-up) runs beside the next faults.
      const restartAfter = async (proc: TollgateProcess, ms: number) => {
        if (restarting.has(proc)) return;
        await cluster.kill(proc);
        const restart = sleep(ms).then(() => cluster.restart(proc)).catch((error: Error) => print(`  restart of ${proc.name} failed: ${error.message.split('\n')[0]}`))
          .finally(() => restarting.delete(proc));
        restarting.set(proc, restart);
      };
      switch (kind) {
        case 'kill-serve':
          return restartAfter(pick(serves), 500 + rand() * 2000);
        case 'kill-worker':
          return restartAfter(pick(workers), 500 + rand() * 2000);
        case 'kill-relay':
          return restartAfter(relay, 500 + rand() * 2000);
        case 'stall-worker': {
          // Longer than the lock: its jobs are taken over by the other worker while it sleeps, then it wakes up.
          const worker = pick(workers);
          worker.child?.kill('SIGSTOP');
          await sleep(LOCK_DURATION_MS * 2 + 2000);
          worker.child?.kill('SIGCONT');
          return;
        }
        case 'kill-redis':
          return cluster.killRedis(500 + rand() * 1500);
        case 'stop-redis':
          cluster.redis?.kill('SIGSTOP');
          await sleep(10_000);
          cluster.redis?.kill('SIGCONT');
          return;
        case 'crash-postgres':
          return cluster.restartPostgres('immediate', 500 + rand() * 2000);
        case 'restart-postgres':
          return cluster.restartPostgres('fast', 0);
        case 'lock-entities':
          await admin.begin(async (sql) => {
            await sql`LOCK TABLE tollgate.entities IN ACCESS EXCLUSIVE MODE`;
            await sql`SELECT pg_sleep(5)`;
          });
          return;
        case 'exhaust-connections': {
          // Every connection slot Postgres has left, held for 5 s.
          const hog = postgres(cluster.databaseUrl, { max: 90, onnotice: () => {}, connect_timeout: 5 });
          await Promise.allSettled(Array.from({ length: 90 }, () => hog`SELECT pg_sleep(5)`));
          await hog.end({ timeout: 1 });
          return;
        }
        case 'all-at-once':
          await Promise.allSettled([
            restartAfter(serves[0] as TollgateProcess, 1000),
            restartAfter(workers[0] as TollgateProcess, 1000),
            restartAfter(relay, 1000),
            cluster.killRedis(1000),
            cluster.restartPostgres('immediate', 1000),
          ]);
          return;
      }
    };

    const until = Date.now() + durationMs;
    await sleep(Math.min(5000, durationMs / 10));
    let index = 0;
    while (Date.now() < until - 10_000) {
      const kind: FaultKind | undefined = options.quick
        ? schedule[index++]
        : index < faultKinds.length
          ? faultKinds[index++]
          : pick(faultKinds);
      if (!kind) break;
      const at = ((Date.now() - (until - durationMs)) / 1000).toFixed(0);
      try {
        await inject(kind);
        print(`  t+${at}s ${kind}`);
      } catch (error) {
        print(`  t+${at}s ${kind} (fault itself failed: ${(error as Error).message.split('\n')[0]})`);
      }
      await sleep(options.quick ? 500 : 2000 + rand() * 8000);
    }
    const ledger: Ledger = await trafficDone;
    print(`traffic: ${ledger.acks.length} acknowledged, ${ledger.refusals.length} refused for good, ${ledger.retries} retries`);

    // Settle: every process up, effects and timers drained.
    await Promise.allSettled([...restarting.values()]);
    for (const proc of cluster.processes) if (proc.child?.exitCode !== null) await cluster.restart(proc);
    const settled = await settle(admin, options.quick ? 90_000 : 180_000);
    print(`settled: ${settled ? 'yes' : 'NO (timed out)'}`);

    const results = await checkInvariants(admin, ledger, {
      faults,
      // Every fault but the table lock can cut a handler's run from its recorded outcome (invariants.ts).
      redeliveryFaults: [...faults].reduce((n, [kind, count]) => n + (kind === 'lock-entities' ? 0 : count), 0),
    });
    print('');
    print(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (a loaded machine misses lock renewals: more re-runs)`);
    print(`faults injected: ${[...faults].map(([k, n]) => `${k} x${n}`).join(', ')}`);
    print('| invariant | figure | result |');
    print('|---|---|---|');
    for (const r of results) print(`| ${r.name} | ${r.figure} | ${r.ok ? 'pass' : 'FAIL'} |`);
    const failed = results.filter((r) => !r.ok);
    for (const r of failed) for (const line of r.details ?? []) print(`  ${r.name}: ${line}`);
    if (failed.length || !settled) {
      print(`chaos: ${failed.length} invariant(s) violated; replay with --seed ${options.seed}`);
      return 1;
    }
    print(`chaos: all invariants hold (seed ${options.seed})`);
    return 0;
  } finally {
    await admin.end({ timeout: 1 }).catch(() => {});
    await cluster.destroy();
    removeSignalHandler();
  }
}

/** Waits until no effect is pending or running and no timer is overdue. */
async function settle(sql: postgres.Sql, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const [row] = await sql<{ open: number }[]>`
        SELECT (SELECT count(*) FROM tollgate.effects WHERE status NOT IN ('completed', 'failed')
                  OR (follow_up IS NOT NULL AND follow_up_outcome IS NULL))::int
             + (SELECT count(*) FROM tollgate.timers WHERE status = 'scheduled' AND due_at < now() - interval '1 second')::int AS open`;
      if (row?.open === 0) return true;
    } catch {
      // The database may still be recovering.
    }
    await sleep(1000);
  }
  return false;
}

function flag(args: string[], name: string): string | undefined {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const code = await runChaos({
    minutes: Number(flag(args, 'minutes') ?? 5),
    seed: Number(flag(args, 'seed') ?? Math.floor(Math.random() * 2 ** 31)),
    quick: args.includes('--quick'),
    print: (line) => console.log(line),
  });
  process.exit(code);
}
