/**
 * `npm run soak -- [--minutes 30] [--rate 300]`: a deployment of its own (the chaos runner's throw-away Postgres
 * cluster and Redis; `tollgate serve`, `tollgate worker` x2, `tollgate relay` as real processes) under steady HTTP
 * traffic at a fixed rate with effects and short timers, printing one table row a minute. Exit 1 when a watched
 * series does not stay flat (flatness.ts says how that is judged) or any request got a 5xx or no answer.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { Cluster, freePort, type TollgateProcess } from '../chaos/cluster.ts';
import { judge, warmupMinutes, type Series, type Verdict } from './flatness.ts';
import { SteadyLoad } from './load.ts';
import { databaseSample, lags, postgresStat, procStat, tables, type DatabaseSample, type Lags } from './sample.ts';

export interface SoakOptions {
  readonly minutes: number;
  /** Requests per second the client sends. */
  readonly rate: number;
  readonly print: (line: string) => void;
}

/** One minute's row, as numbers. */
interface Row {
  readonly minute: number;
  readonly load: number;
  readonly sentPerSecond: number;
  readonly okPerSecond: number;
  readonly commitsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly lags: Lags;
  /** Per process name: RSS in bytes and CPU in percent of one core. */
  readonly processes: Record<string, { rss: number; cpu: number }>;
  readonly redisUsed: number;
  readonly database: DatabaseSample;
  readonly bytesPerCommit: number;
  readonly serverErrors: number;
  readonly failed: number;
  readonly refused: number;
  readonly missed: number;
}

const MB = 1024 * 1024;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function redisUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}

/** Runs the soak; resolves to the exit code. */
export async function runSoak(options: SoakOptions): Promise<number> {
  const { print } = options;
  const cluster = await Cluster.start(print);
  const removeSignalHandler = cluster.destroyOnSignal((line) => print(`soak: ${line}`));
  const admin = postgres(cluster.databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  const redis = new Redis(cluster.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
  let load: SteadyLoad | undefined;
  try {
    await redis.connect();
    const serve = await cluster.spawnTollgate('serve', 'serve', await freePort());
    const watched: TollgateProcess[] = [
      serve,
      await cluster.spawnTollgate('worker', 'worker-1'),
      await cluster.spawnTollgate('worker', 'worker-2'),
      await cluster.spawnTollgate('relay', 'relay'),
    ];
    const postmasterPid = Number(readFileSync(join(cluster.pgData, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const pids = (): Record<string, number | undefined> => ({
      ...Object.fromEntries(watched.map((p) => [p.name, p.child?.pid])),
      redis: cluster.redis?.pid,
    });
    print(`processes: ${Object.entries(pids()).map(([name, pid]) => `${name} pid ${pid}`).join(', ')}, postgres pid ${postmasterPid}`);
    print(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    print(`traffic: ${options.rate} requests/s to serve for ${options.minutes} min; a row a minute`);
    print('');
    print(header);
    print(header.replace(/[^|]+/g, '---'));

    const cpuOf = () => {
      const out: Record<string, number> = {};
      for (const [name, pid] of Object.entries(pids())) out[name] = pid ? (procStat(pid)?.cpuSeconds ?? 0) : 0;
      out.postgres = postgresStat(postmasterPid)?.cpuSeconds ?? 0;
      return out;
    };
    let lastCpu = cpuOf();
    let lastAt = performance.now();
    let lastDb = await databaseSample(admin);
    const rows: Row[] = [];

    load = new SteadyLoad(serve.url as string, cluster.apiKey, options.rate);
    load.start();
    const end = Date.now() + options.minutes * 60_000;
    for (let minute = 1; Date.now() < end - 1000; minute++) {
      // Lags sampled every 5 s; the row keeps the minute's worst.
      const minuteEnd = Math.min(end, Date.now() + 60_000);
      let worst: Lags = { outbox: 0, running: 0, timer: 0 };
      while (Date.now() < minuteEnd - 100) {
        await sleep(Math.min(5000, minuteEnd - Date.now()));
        const l = await lags(admin).catch(() => worst);
        worst = { outbox: Math.max(worst.outbox, l.outbox), running: Math.max(worst.running, l.running), timer: Math.max(worst.timer, l.timer) };
      }
      const window = load.takeWindow();
      const now = performance.now();
      const wall = (now - lastAt) / 1000;
      const cpu = cpuOf();
      const database = await databaseSample(admin);
      const processes: Row['processes'] = {};
      for (const [name, pid] of Object.entries(pids())) {
        processes[name] = { rss: (pid ? procStat(pid)?.rssBytes : 0) ?? 0, cpu: (((cpu[name] ?? 0) - (lastCpu[name] ?? 0)) / wall) * 100 };
      }
      processes.postgres = { rss: postgresStat(postmasterPid)?.rssBytes ?? 0, cpu: (((cpu.postgres ?? 0) - (lastCpu.postgres ?? 0)) / wall) * 100 };
      const commits = database.transitionsInserted - lastDb.transitionsInserted;
      const grown = tables.reduce((n, t) => n + database.sizes[t].table + database.sizes[t].index - lastDb.sizes[t].table - lastDb.sizes[t].index, 0);
      const latencies = window.latencies.sort((a, b) => a - b);
      const row: Row = {
        minute,
        load: loadavg()[0] ?? 0,
        sentPerSecond: window.sent / window.seconds,
        okPerSecond: window.ok / window.seconds,
        commitsPerSecond: commits / wall,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        lags: worst,
        processes,
        redisUsed: await redisUsedMemory(redis).catch(() => Number.NaN),
        database,
        bytesPerCommit: commits > 0 ? grown / commits : 0,
        serverErrors: window.serverErrors,
        failed: window.failed,
        refused: window.refused,
        missed: window.missed,
      };
      rows.push(row);
      print(format(row));
      lastCpu = cpu;
      lastAt = now;
      lastDb = database;
    }
    await load.stop();
    for (const problem of load.problems) print(`  5xx or unanswered: ${problem}`);
    if (load.problems.length) for (const proc of watched) for (const line of proc.log.slice(-8)) print(`  ${proc.name}: ${line.slice(0, 400)}`);
    load = undefined;
    return report(rows, options, print);
  } finally {
    await load?.stop().catch(() => {});
    redis.disconnect();
    await admin.end({ timeout: 1 }).catch(() => {});
    await cluster.destroy();
    removeSignalHandler();
  }
}

const processNames = ['serve', 'worker-1', 'worker-2', 'relay', 'postgres'] as const;
const header = `| min | load | sent/s | 2xx/s | commits/s | p50 ms | p99 ms | outbox lag s | run lag s | timer lag s | ${processNames.map((n) => `${n} MB / CPU%`).join(' | ')} | redis MB | ${tables.map((t) => `${t} MB`).join(' | ')} | 5xx+lost |`;

function format(row: Row): string {
  const mb = (b: number) => (b / MB).toFixed(0);
  const proc = (name: string) => {
    const p = row.processes[name];
    return p ? `${mb(p.rss)} / ${p.cpu.toFixed(0)}` : '-';
  };
  const size = (t: (typeof tables)[number]) => `${(row.database.sizes[t].table / MB).toFixed(0)}+${(row.database.sizes[t].index / MB).toFixed(0)}`;
  return `| ${row.minute} | ${row.load.toFixed(1)} | ${row.sentPerSecond.toFixed(0)} | ${row.okPerSecond.toFixed(0)} | ${row.commitsPerSecond.toFixed(0)} | ${row.p50.toFixed(1)} | ${row.p99.toFixed(0)} | ${row.lags.outbox.toFixed(2)} | ${row.lags.running.toFixed(2)} | ${row.lags.timer.toFixed(2)} | ${processNames.map(proc).join(' | ')} | ${(row.redisUsed / MB).toFixed(1)} | ${tables.map(size).join(' | ')} | ${row.serverErrors + row.failed} |`;
}

/** The criterion, the verdict per series, and the exit code. */
function report(rows: readonly Row[], options: SoakOptions, print: (line: string) => void): number {
  const warmup = warmupMinutes(options.minutes);
  const of = (pick: (r: Row) => number) => rows.map(pick);
  const series: Series[] = [
    ...(['serve', 'worker-1', 'worker-2', 'relay'] as const).map((name) => ({
      name: `${name} RSS`, unit: 'MB', values: of((r) => (r.processes[name]?.rss ?? 0) / MB), absolute: 32, relative: 0.15,
    })),
    { name: 'postgres private memory', unit: 'MB', values: of((r) => (r.processes.postgres?.rss ?? 0) / MB), absolute: 32, relative: 0.25 },
    { name: 'redis used_memory', unit: 'MB', values: of((r) => r.redisUsed / MB), absolute: 16, relative: 0.25 },
    { name: 'outbox lag', unit: 's', values: of((r) => r.lags.outbox), absolute: 1, relative: 0.5 },
    { name: 'effect run lag', unit: 's', values: of((r) => r.lags.running), absolute: 1, relative: 0.5 },
    { name: 'timer lag', unit: 's', values: of((r) => r.lags.timer), absolute: 1, relative: 0.5 },
    { name: 'p99 latency', unit: 'ms', values: of((r) => r.p99), absolute: 25, relative: 0.5 },
    { name: 'storage per commit', unit: 'B', values: of((r) => r.bytesPerCommit), absolute: 256, relative: 0.5 },
    { name: 'achieved 2xx rate', unit: '/s', values: of((r) => r.okPerSecond), absolute: 5, relative: 0.1, direction: 'fall' },
  ];
  const total = (pick: (r: Row) => number) => rows.reduce((n, r) => n + pick(r), 0);
  const errors = total((r) => r.serverErrors + r.failed);
  print('');
  print(`load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${total((r) => r.refused)} requests refused (4xx: steps a timer or follow-up overtook), ${total((r) => r.missed)} not sent (256 already in flight)`);
  print(`criterion: after ${warmup} min of warm-up, the median of each series over the second half of the remaining minutes may not exceed the first half's by more than its allowance (RSS: 32 MB or 15%; Postgres private memory 32 MB or 25%; Redis 16 MB or 25%; lags 1 s or 50%; p99 25 ms or 50%; storage per commit 256 B or 50%); the 2xx rate may not fall by more than 10%; no 5xx and no request left unanswered.`);
  const verdicts: Verdict[] = judge(series, warmup) ?? [];
  if (verdicts.length === 0) print(`flatness: not judged (${rows.length} min, fewer than ${warmup + 4} needed)`);
  for (const v of verdicts) print(`  ${v.ok ? 'flat' : 'NOT FLAT'}  ${v.name}: ${v.figure}`);
  print(`  ${errors === 0 ? 'ok' : 'FAIL'}  5xx and unanswered requests: ${errors}`);
  const failed = [...verdicts.filter((v) => !v.ok).map((v) => v.name), ...(errors ? ['5xx and unanswered requests'] : [])];
  if (failed.length) {
    print(`soak: FAIL: ${failed.join(', ')}`);
    return 1;
  }
  print(`soak: pass${verdicts.length ? '' : ' (flatness not judged: run longer)'}`);
  return 0;
}

function flag(args: string[], name: string): string | undefined {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const minutes = Number(flag(args, 'minutes') ?? 30);
  const rate = Number(flag(args, 'rate') ?? 300);
  if (!(minutes > 0) || !(rate > 0)) {
    console.error('usage: npm run soak -- [--minutes 30] [--rate 300]');
    process.exit(2);
  }
  process.exit(await runSoak({ minutes, rate, print: (line) => console.log(line) }));
}
