/**
 * Effect pipeline benchmark: outbox lag (commit -> handler start) at 200, 500 and 1,000 transitions/s (BENCH_RATES), and effects/s
 * at saturation (relay + BullMQ + effect worker draining a backlog), beside baselines measured in the same run on
 * the same Redis and Postgres: for lag, the naive dual write at the same rates (a bare transaction, then
 * `queue.add` of the job straight from the request, a BullMQ worker in another process that does one UPDATE: no
 * state machine, no outbox, nothing that survives a crash between the commit and the add); for throughput, raw
 * BullMQ with no-op jobs and raw BullMQ whose jobs each do one Postgres UPDATE (the least any worker that records
 * completion must do). Each lag phase also prints how busy the machine's CPUs were (from /proc/stat).
 *
 * Layouts as in production: this process sends the transitions through the gate, as `tollgate serve` does, and a
 * child process runs the effect worker, as `tollgate worker` does. The relay runs in this process (`serve --relay`:
 * each commit hands its effects to it) or, second layout, in the child (`worker`'s default: it learns of commits by
 * NOTIFY and claims them). Lag is the handler start minus the commit, both read on the wall clock
 * (`performance.timeOrigin + performance.now()`) of their process. The lag phases start after a
 * warm-up at 200/s (BENCH_WARMUP_SECONDS, default 2) that is not measured; the rate actually achieved is printed.
 * The lag phases run BENCH_LAG_RUNS times (default 3), the layouts alternating; the table gives the median of each
 * percentile and lists each run's p99 (one run's p99 moves by 2x on a 2-vCPU machine).
 * Saturation runs BENCH_SATURATION_RUNS times (default 3), alternating with its baseline; the table gives medians.
 *
 * Where the lag goes, two more tables: the lag split at the moment the worker took the job from BullMQ (commit ->
 * taken is the queue's part, taken -> handler start the worker's check of the effect row), and the CPU ms per
 * transition of each process on the path (this process, the worker process, the bench database's Postgres backends,
 * Redis; from /proc), beside the naive write's. The saturation runs print CPU ms per effect the same way.
 *
 * Diagnostics: BENCH_CONCURRENCY sets the jobs each worker runs at once, both sides (default 32); BENCH_LAYOUTS (default `beside,worker,naive`, `none` for saturation only) picks the lag layouts; BENCH_DEBUG_CPU=1 prints the worker process's CPU time after each lag phase; BENCH_WORKER_NODE_ARGS
 * passes node flags to it (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 *
 * Run: `npx tsx bench/effects.ts` (needs Postgres and Redis; BENCH_DATABASE_URL / BENCH_REDIS_URL override the
 * defaults). A full run takes about four minutes.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Queue, Worker } from 'bullmq';
import postgres from 'postgres';
import { setup } from 'xstate';
import { z } from 'zod';
import { createTollgate, defineMachine } from '../src/index.ts';
import { quoteIdent } from '../src/store/sql-client.ts';
import { startProcesses } from '../workers/index.ts';
import { startEffectWorker } from '../workers/effects.ts';
import { startRelay } from '../src/outbox/relay.ts';
import { bullmqTransport } from '../src/jobs/transports/bullmq.ts';
import type { ConsumeOptions, JobHandler, QueueKind, Transport } from '../src/jobs/transport.ts';
import { portsOf } from '../src/runtime/ports.ts';
import { backendCpuSeconds, busyBetween, cpuReading, median, percentile, processCpuSeconds } from './support.ts';
import { testAccess } from '../src/runtime/test-access.ts';

const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const backlog = Number(process.env.BENCH_BACKLOG ?? 20_000);
const rateSeconds = Number(process.env.BENCH_RATE_SECONDS ?? 5);
/** Transition rates of the lag phases, in order (the targets are at 200 and 1,000/s). */
const rates = (process.env.BENCH_RATES ?? '200,500,1000').split(',').map(Number);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const saturationRuns = Number(process.env.BENCH_SATURATION_RUNS ?? 3);
/** Runs of the lag phases, the layouts alternating; the table gives the median of each percentile. */
const lagRuns = Number(process.env.BENCH_LAG_RUNS ?? 3);
/** Lag layouts to measure: `beside` (relay beside the gate), `worker` (relay in the worker), `naive`. Default all. */
const layouts = new Set((process.env.BENCH_LAYOUTS ?? 'beside,worker,naive').split(','));
const quiet = { error() {}, warn() {}, info() {} };

/** One effect per transition: the smallest machine that exercises the whole pipeline. */
const ticker = defineMachine({
  machine: setup({
    types: { context: {} as { n: number }, events: {} as { type: 'TICK' } },
    actions: { work: (_, _p: { n: number }) => {} },
  }).createMachine({
    id: 'ticker',
    context: { n: 0 },
    initial: 'on',
    states: { on: { on: { TICK: { actions: { type: 'work', params: ({ context }) => ({ n: context.n }) } } } } },
  }),
  version: 1,
  input: z.object({}),
  events: { TICK: z.strictObject({}) },
});

async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const name = `tg_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

async function cleanRedis(prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}

/** Wall-clock ms with sub-ms resolution that the bench process and the worker process read alike. */
const wallNow = () => performance.timeOrigin + performance.now();

/** Messages between the bench and its worker process. */
type ToWorker = { cmd: 'start'; prefix: string; relay: boolean } | { cmd: 'start-naive'; prefix: string } | { cmd: 'report' } | { cmd: 'stop' } | { cmd: 'exit' };
/** A handler start: the id the bench knows it by, when the worker took its job, when the handler started. */
type Start = [id: string, taken: number, started: number];
type FromWorker = { ready: true } | { started: true } | { starts: Start[]; cpuMs: number } | { stopped: true };

/**
 * The worker process: relay + effect worker, as `tollgate worker` runs beside `tollgate serve` in production (the
 * two consumers `startProcesses` starts for it, over a transport wrapped to note when each job is taken from BullMQ).
 * It notes when each job was taken and when its handler started (`wallNow`, keyed by transition id) and reports on
 * request: the split of the lag between BullMQ (commit -> job taken) and the worker's check of the effect row.
 */
async function workerProcess(url: string): Promise<void> {
  const send = (m: FromWorker) => process.send?.(m);
  const tg = await createTollgate({ machines: { ticker }, database: { url, maxConnections: 12 }, schema: 'bench' });
  let starts: Start[] = [];
  const taken = new Map<string, number>();
  tg.effect('work', (ctx) => {
    const now = wallNow();
    starts.push([ctx.transitionId, taken.get(ctx.effectId) ?? now, now]);
    taken.delete(ctx.effectId);
  });
  let processes: { stop(): Promise<void> } | undefined;
  process.on('message', (m: ToWorker) => {
    void (async () => {
      if (m.cmd === 'start') {
        processes = await effectProcesses(tg, m.prefix, m.relay, (effectId) => taken.set(effectId, wallNow()));
        send({ started: true });
      } else if (m.cmd === 'start-naive') {
        processes = naiveWorker(url, m.prefix, (id) => {
          const now = wallNow();
          starts.push([id, now, now]);
        });
        send({ started: true });
      } else if (m.cmd === 'report') {
        const cpu = process.cpuUsage();
        send({ starts, cpuMs: (cpu.user + cpu.system) / 1000 });
        starts = [];
      } else if (m.cmd === 'stop') {
        await processes?.stop();
        processes = undefined;
        send({ stopped: true });
      } else {
        await processes?.stop();
        await tg.close();
        process.exit(0);
      }
    })();
  });
  send({ ready: true });
}

/**
 * What `startProcesses(tg, { relay, timers: false, eventWorkers: false, feed: false })` starts (the effect worker,
 * and the relay when asked), built here so that the transport can note when each effect job is taken (`onTaken`).
 */
async function effectProcesses(tg: Awaited<ReturnType<typeof createTollgate>>, prefix: string, relay: boolean, onTaken: (effectId: string) => void) {
  const port = portsOf(tg);
  const transport = bullmqTransport({ redisUrl, prefix, namespace: port.schema, clock: port.clock });
  const noting: Transport = {
    ...transport,
    consume: <T,>(kind: QueueKind, handler: JobHandler<T>, options?: ConsumeOptions) =>
      transport.consume<T>(
        kind,
        (job) => {
          onTaken((job.data as { effectId: string }).effectId);
          return handler(job);
        },
        options,
      ),
  };
  const worker = startEffectWorker(port, { transport: noting, concurrency, clock: port.clock, logger: quiet });
  const relayed = relay ? await startRelay(port, { transport, clock: port.clock, logger: quiet, directHandOff: true }) : undefined;
  return {
    async stop() {
      await relayed?.stop();
      await worker.close();
      await transport.close();
    },
  };
}

/** The naive baseline's worker: a BullMQ worker whose jobs each do one UPDATE (it notes when each starts). */
function naiveWorker(url: string, prefix: string, started: (id: string) => void): { stop(): Promise<void> } {
  const sql = postgres(url, { max: 12, onnotice: () => {} });
  const worker = new Worker(
    'naive',
    async (job) => {
      started(job.data.id as string);
      await sql.unsafe(`UPDATE naive_outbox SET done = true WHERE id = $1::text`, [job.data.id], { prepare: true });
    },
    { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix, concurrency },
  );
  return {
    async stop() {
      await worker.close();
      await sql.end();
    },
  };
}

/** Starts the worker process; `ask` sends a command and resolves with its answer. */
async function spawnWorker(url: string) {
  const child = fork(fileURLToPath(import.meta.url), ['worker'], { execArgv: ['--import', 'tsx', ...(process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean)], env: { ...process.env, BENCH_WORKER_URL: url } });
  const answers: Array<{ resolve: (m: FromWorker) => void; reject: (e: Error) => void }> = [];
  child.on('message', (m: FromWorker) => answers.shift()?.resolve(m));
  child.once('exit', (code) => answers.splice(0).forEach((a) => a.reject(new Error(`bench worker process exited (${code})`))));
  const next = () => new Promise<FromWorker>((resolve, reject) => answers.push({ resolve, reject }));
  await next();
  return {
    async ask(m: ToWorker): Promise<FromWorker> {
      const answer = next();
      child.send(m);
      return answer;
    },
    async exit(): Promise<void> {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.send({ cmd: 'exit' } satisfies ToWorker);
      await gone;
    },
  };
}
type BenchWorker = Awaited<ReturnType<typeof spawnWorker>>;

/** What a lag phase measured: commit -> handler-start lags (ms, sorted), the rate achieved, the CPU busy share. */
interface LagRun {
  lags: number[];
  /** Commit -> job taken from BullMQ (ms, sorted): the queue's part of the lag. */
  toTaken: number[];
  /** Job taken -> handler start (ms, sorted): the worker's check of the effect row (0 for the naive worker). */
  toStart: number[];
  achieved: number;
  busy: number;
  /** CPU ms per transition, from before the first commit to the last handler start, of each process on its path. */
  cpu: CpuPerTransition;
}

/** CPU ms per transition of each process on an effect's path: where the machine's two cores went. */
interface CpuPerTransition {
  /** This process: the gate (or the naive bare transaction), and with the relay beside it, the adds. */
  sender: number;
  /** The worker process: BullMQ's consumer and the handler's checks. */
  worker: number;
  /** The Postgres backends of the bench database. */
  postgres: number;
  /** The Redis server. */
  redis: number;
}

/** Cumulative CPU ms of the processes an effect passes through, read now (the worker's from its own report). */
interface CpuCounters {
  sender: number;
  postgres: Map<number, number>;
  redis: number;
}

/** Reads this process's, the bench database's backends' and Redis's CPU counters (Linux /proc; NaN elsewhere). */
async function cpuCounters(admin: postgres.Sql, database: string, redisPid: number): Promise<CpuCounters> {
  const own = process.cpuUsage();
  return { sender: (own.user + own.system) / 1000, postgres: await backendCpuSeconds(admin, database), redis: processCpuSeconds(redisPid) * 1000 };
}

/** CPU ms the backends used between two readings; one connected since the first counts whole (a pool that grew). */
function backendMsBetween(a: Map<number, number>, b: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of b) total += seconds - (a.get(pid) ?? 0);
  return total * 1000;
}

/** The CPU probe of the bench database at `url`: Redis's pid from its INFO. */
async function cpuProbe(url: string): Promise<CpuProbe> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl);
  const info = await redis.info('server');
  redis.disconnect();
  const redisPid = Number(/process_id:(\d+)/.exec(info)?.[1] ?? NaN);
  return { admin: postgres(adminUrl, { max: 1, onnotice: () => {} }), database: new URL(url).pathname.slice(1), redisPid };
}

/** What `lagAt` reads CPU counters with: the admin connection, the bench database's name, Redis's pid. */
interface CpuProbe {
  admin: postgres.Sql;
  database: string;
  redisPid: number;
}

/**
 * Commits at `rate`/s for `seconds` (`commit(i)` resolves to the id the worker reports when the handler starts,
 * once committed); returns commit->handler-start lags in ms and the rate achieved.
 */
async function lagAt(commit: (i: number) => Promise<string>, worker: BenchWorker, probe: CpuProbe, rate: number, seconds: number): Promise<LagRun> {
  const committed = new Map<string, number>();
  const total = Math.round(rate * seconds);
  const workerBefore = await worker.ask({ cmd: 'report' });
  const countersBefore = await cpuCounters(probe.admin, probe.database, probe.redisPid);
  const cpuBefore = cpuReading();
  const began = performance.now();
  const inflight = new Set<Promise<void>>();
  for (let i = 0; i < total; i++) {
    const due = began + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const p = commit(i).then(
      (id) => void committed.set(id, wallNow()),
      () => {},
    );
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    if (inflight.size > 200) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const achieved = committed.size / ((performance.now() - began) / 1000);
  const busy = busyBetween(cpuBefore, cpuReading());
  const starts = new Map<string, Start>();
  const until = performance.now() + 10_000;
  let cpuMs = 0;
  do {
    const answer = await worker.ask({ cmd: 'report' });
    if ('starts' in answer) for (const start of answer.starts) starts.set(start[0], start);
    if ('cpuMs' in answer) cpuMs = answer.cpuMs;
    if (starts.size >= committed.size) break;
    await sleep(100);
  } while (performance.now() < until);
  const seen = [...committed].flatMap(([id, at]) => {
    const start = starts.get(id);
    return start ? [{ at, taken: start[1], started: start[2] }] : [];
  });
  const sorted = (xs: number[]) => xs.sort((a, b) => a - b);
  const lags = sorted(seen.map((x) => Math.max(0, x.started - x.at)));
  const toTaken = sorted(seen.map((x) => Math.max(0, x.taken - x.at)));
  const toStart = sorted(seen.map((x) => Math.max(0, x.started - x.taken)));
  const countersAfter = await cpuCounters(probe.admin, probe.database, probe.redisPid);
  const n = committed.size;
  const cpu: CpuPerTransition = {
    sender: (countersAfter.sender - countersBefore.sender) / n,
    worker: (cpuMs - ('cpuMs' in workerBefore ? workerBefore.cpuMs : NaN)) / n,
    postgres: backendMsBetween(countersBefore.postgres, countersAfter.postgres) / n,
    redis: (countersAfter.redis - countersBefore.redis) / n,
  };
  if (process.env.BENCH_DEBUG_CPU) console.error(`rate ${rate}: worker process CPU total ${cpuMs.toFixed(0)} ms, ${committed.size} commits`);
  return { lags, toTaken, toStart, achieved, busy, cpu };
}

/** The naive dual write at 200 and 1,000/s: bare transaction, then queue.add from the request; one-UPDATE worker. */
/** Lag phases at each of `rates`, after the warm-up. */
type LagRuns = Map<number, LagRun>;

async function lagPhases(commit: (i: number) => Promise<string>, worker: BenchWorker, probe: CpuProbe): Promise<LagRuns> {
  // Warm-up, not measured: first use of each prepared statement on each pooled connection, BullMQ's scripts, JIT.
  await lagAt(commit, worker, probe, 200, warmupSeconds);
  const runs: LagRuns = new Map();
  for (const rate of rates) runs.set(rate, await lagAt(commit, worker, probe, rate, rateSeconds));
  return runs;
}

async function naiveRuns(url: string, probe: CpuProbe): Promise<LagRuns> {
  const prefix = `tgbench_${randomBytes(4).toString('hex')}`;
  const sql = postgres(url, { max: 12, onnotice: () => {} });
  await sql.unsafe(`CREATE TABLE IF NOT EXISTS naive_entities (id text PRIMARY KEY, version int NOT NULL)`);
  await sql.unsafe(`CREATE TABLE IF NOT EXISTS naive_outbox (id text PRIMARY KEY, entity_id text NOT NULL, done boolean NOT NULL DEFAULT false)`);
  await sql.unsafe(`TRUNCATE naive_entities, naive_outbox`);
  await sql.unsafe(`INSERT INTO naive_entities SELECT 't' || g, 0 FROM generate_series(0, 399) g`);
  const queue = new Queue('naive', { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix });
  let next = 0;
  const commit = async (i: number) => {
    const id = `n${next++}`;
    await sql.begin(async (tx) => {
      await tx.unsafe(`UPDATE naive_entities SET version = version + 1 WHERE id = $1::text`, [`t${i % 400}`], { prepare: true });
      await tx.unsafe(`INSERT INTO naive_outbox (id, entity_id) VALUES ($1::text, $2::text)`, [id, `t${i % 400}`], { prepare: true });
    });
    // The job is added after the commit resolves; lag counts from the commit, as for tollgate.
    void queue.add('j', { id }, { jobId: id, removeOnComplete: true });
    return id;
  };
  const worker = await spawnWorker(url);
  await worker.ask({ cmd: 'start-naive', prefix });
  const runs = await lagPhases(commit, worker, probe);
  await worker.ask({ cmd: 'stop' });
  await worker.exit();
  await queue.obliterate({ force: true });
  await queue.close();
  await sql.end();
  return runs;
}

/** tollgate set up for the bench: a runtime with 400 entities and the worker process (relay + effect worker). */
async function tollgateSetup(url: string) {
  const prefix = `tgbench_${randomBytes(4).toString('hex')}`;
  const tg = await createTollgate({ machines: { ticker }, database: { url, maxConnections: 12 }, schema: 'bench' });
  await tg.migrate();
  for (let i = 0; i < 400; i++) await tg.create('ticker', `t${i}`, {});
  const worker = await spawnWorker(url);
  return {
    tg,
    worker,
    prefix,
    async close() {
      await worker.exit();
      await tg.close();
      await cleanRedis(prefix);
    },
  };
}
type TollgateBench = Awaited<ReturnType<typeof tollgateSetup>>;

/** Lag with the relay here, beside the gate (`serve --relay`), or in the worker process (`worker`'s default). */
async function tollgateLag(t: TollgateBench, relayHere: boolean, probe: CpuProbe): Promise<LagRuns> {
  const { tg, worker } = t;
  const relay = relayHere
    ? await startProcesses(tg, { transport: 'bullmq', redisUrl, queuePrefix: t.prefix, relay: true, effectWorkers: false, timers: false, eventWorkers: false, logger: quiet })
    : undefined;
  await worker.ask({ cmd: 'start', prefix: t.prefix, relay: !relayHere });
  const commit = async (i: number) => (await tg.send('ticker', `t${i % 400}`, { type: 'TICK' })).transition.id;
  const runs = await lagPhases(commit, worker, probe);
  await worker.ask({ cmd: 'stop' });
  await relay?.stop();
  return runs;
}

/** Saturation: a backlog of pending effects (written in bulk), then relay + worker drain it; effects/s. */
/** A saturation run: effects/s, and CPU ms per effect of the processes draining the backlog. */
interface Drain {
  perSecond: number;
  cpu: CpuPerTransition;
}

async function tollgateSaturation(t: TollgateBench, probe: CpuProbe): Promise<Drain> {
  const s = quoteIdent('bench');
  // Each run starts from the same state: the rows earlier phases left behind are settled and vacuumed, and the
  // planner knows the table (the baseline starts from a truncated table).
  await testAccess(t.tg).client.query(`DELETE FROM ${s}.effects`);
  await testAccess(t.tg).client.query(`VACUUM ANALYZE ${s}.effects`);
  await testAccess(t.tg).client.query(
    `INSERT INTO ${s}.effects (id, transition_id, machine, entity_id, seq, idx, type, params, status, created_at)
     SELECT gen_random_uuid()::text || '-e0', gen_random_uuid(), 'ticker', 't0', g, 0, 'work', '{}'::jsonb, 'pending', now()
     FROM generate_series(1, $1::int) g`,
    [backlog],
  );
  const workerBefore = await t.worker.ask({ cmd: 'report' });
  const before = await cpuCounters(probe.admin, probe.database, probe.redisPid);
  const began = performance.now();
  await t.worker.ask({ cmd: 'start', prefix: t.prefix, relay: true });
  // Two partial-index probes rather than a count over the table: the poll must not eat the CPU it measures.
  const open = `SELECT (EXISTS (SELECT 1 FROM ${s}.effects WHERE status = 'pending')
    OR EXISTS (SELECT 1 FROM ${s}.effects WHERE status = 'dispatched')) AS open`;
  while ((await testAccess(t.tg).client.query<{ open: boolean }>(open))[0]?.open) await sleep(20);
  const perSecond = backlog / ((performance.now() - began) / 1000);
  const after = await cpuCounters(probe.admin, probe.database, probe.redisPid);
  const workerAfter = await t.worker.ask({ cmd: 'report' });
  await t.worker.ask({ cmd: 'stop' });
  const workerMs = (m: FromWorker) => ('cpuMs' in m ? m.cpuMs : NaN);
  return { perSecond, cpu: perEffect(before, after, workerMs(workerAfter) - workerMs(workerBefore)) };
}

/** CPU ms per backlog effect between two readings (the worker process's ms given apart: 0 when it is this one). */
function perEffect(before: CpuCounters, after: CpuCounters, workerMs: number): CpuPerTransition {
  return {
    sender: (after.sender - before.sender) / backlog,
    worker: workerMs / backlog,
    postgres: backendMsBetween(before.postgres, after.postgres) / backlog,
    redis: (after.redis - before.redis) / backlog,
  };
}

async function baseline(url: string, withUpdate: boolean, probe: CpuProbe): Promise<Drain> {
  const prefix = `tgbench_${randomBytes(4).toString('hex')}`;
  const connection = { url: redisUrl, maxRetriesPerRequest: null };
  const sql = postgres(url, { max: 12, onnotice: () => {} });
  await sql.unsafe(`CREATE TABLE IF NOT EXISTS baseline (id text PRIMARY KEY, done boolean NOT NULL DEFAULT false)`);
  await sql.unsafe(`TRUNCATE baseline`);
  await sql.unsafe(`INSERT INTO baseline (id) SELECT 'j' || g FROM generate_series(1, ${backlog}) g`);
  const queue = new Queue('baseline', { connection, prefix });
  for (let i = 0; i < backlog; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, backlog - i) }, (_, k) => ({ name: 'j', data: { id: `j${i + k + 1}` }, opts: { jobId: `j${i + k + 1}`, removeOnComplete: true } })));
  }
  let done = 0;
  const before = await cpuCounters(probe.admin, probe.database, probe.redisPid);
  const began = performance.now();
  const worker = new Worker(
    'baseline',
    async (job) => {
      if (withUpdate) await sql.unsafe(`UPDATE baseline SET done = true WHERE id = $1::text`, [job.data.id], { prepare: true });
      done++;
    },
    { connection, prefix, concurrency },
  );
  while (done < backlog) await sleep(20);
  const perSecond = backlog / ((performance.now() - began) / 1000);
  const after = await cpuCounters(probe.admin, probe.database, probe.redisPid);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await sql.end();
  // The baseline's worker runs in this process: its CPU is the "sending" column, the worker column 0.
  return { perSecond, cpu: perEffect(before, after, 0) };
}

export async function main(): Promise<void> {
  await withDatabase(async (url) => {
    // Lag phases first, before the saturation runs leave dead rows for autovacuum to work on during them.
    const t = await tollgateSetup(url);
    const probe = await cpuProbe(url);
    const naive: LagRuns[] = [];
    const lags: LagRuns[] = [];
    const lagsRelayInWorker: LagRuns[] = [];
    for (let run = 0; run < lagRuns; run++) {
      if (layouts.has('naive')) naive.push(await naiveRuns(url, probe));
      if (layouts.has('beside')) lags.push(await tollgateLag(t, true, probe));
      if (layouts.has('worker')) lagsRelayInWorker.push(await tollgateLag(t, false, probe));
    }
    // Saturation, alternating with its baseline: the run-to-run spread of either is larger than the difference
    // between them, so the table gives the median of each.
    const drains: Drain[] = [];
    const updateDrains: Drain[] = [];
    for (let run = 0; run < saturationRuns; run++) {
      drains.push(await tollgateSaturation(t, probe));
      updateDrains.push(await baseline(url, true, probe));
    }
    await t.close();
    const noop = (await baseline(url, false, probe)).perSecond;
    await probe.admin.end();
    const saturated = drains.map((d) => d.perSecond);
    const updates = updateDrains.map((d) => d.perSecond);
    const perSecond = median(saturated);
    const update = median(updates);
    const f = (n: number) => n.toFixed(1);
    const pct = (n: number) => `${Math.round(n * 100)}%`;
    // Per layout and rate: the median over the runs of each percentile, of the rate achieved and of CPU busy.
    const at = (runs: LagRuns[], rate: number) => runs.map((r) => r.get(rate)).filter((r): r is LagRun => r !== undefined);
    const p = (runs: LagRun[], q: number) => median(runs.map((r) => percentile(r.lags, q)));
    const cell = (runs: LagRun[]) => (runs.length ? `${f(p(runs, 50))} / ${f(p(runs, 99))} ms` : '');
    const load = (runs: LagRun[]) => (runs.length ? `${Math.round(median(runs.map((r) => r.achieved)))}/s, ${pct(median(runs.map((r) => r.busy)))}` : '');
    const each99 = (runs: LagRun[]) => runs.map((r) => f(percentile(r.lags, 99))).join(', ');
    console.log(`\neffects bench: worker concurrency ${concurrency}, ${rateSeconds}s per rate, ${lagRuns} lag runs (layouts alternating; medians), backlog ${backlog} for saturation`);
    console.log(`lag = commit -> handler start; "relay beside the gate": serve --relay layout; "relay in the worker": worker's default`);
    console.log(`baseline: naive dual write (bare transaction, then queue.add; the worker does one UPDATE)`);
    console.log(`targets: p99 lag beside the gate <= 1.5x the naive dual write's at each rate; effects/s >= 0.9x of BullMQ + UPDATE\n`);
    console.log(`| rate | lag p50 / p99, relay beside the gate | relay in the worker | naive dual write | p99 ratio (beside / naive) | achieved, CPU busy: beside, in worker, naive |`);
    console.log(`|---|---|---|---|---|---|`);
    for (const rate of rates) {
      const [a, b, c] = [at(lags, rate), at(lagsRelayInWorker, rate), at(naive, rate)];
      console.log(`| ${rate}/s | ${cell(a)} | ${cell(b)} | ${cell(c)} | ${f(p(a, 99) / p(c, 99))}x | ${load(a)}; ${load(b)}; ${load(c)} |`);
    }
    console.log(`\n| rate | p99 of each run: relay beside the gate | relay in the worker | naive dual write |`);
    console.log(`|---|---|---|---|`);
    for (const rate of rates) console.log(`| ${rate}/s | ${each99(at(lags, rate))} | ${each99(at(lagsRelayInWorker, rate))} | ${each99(at(naive, rate))} |`);
    // Where the lag goes: the queue's part (commit -> job taken from BullMQ) and the worker's (taken -> handler start).
    const seg = (runs: LagRun[], key: 'toTaken' | 'toStart') => (runs.length ? `${f(median(runs.map((r) => percentile(r[key], 50))))} / ${f(median(runs.map((r) => percentile(r[key], 99))))}` : '');
    console.log(`\n| rate | commit -> job taken, p50 / p99 ms: beside | in worker | naive | job taken -> handler start: beside | in worker | naive |`);
    console.log(`|---|---|---|---|---|---|---|`);
    for (const rate of rates) {
      const [a, b, c] = [at(lags, rate), at(lagsRelayInWorker, rate), at(naive, rate)];
      console.log(`| ${rate}/s | ${seg(a, 'toTaken')} | ${seg(b, 'toTaken')} | ${seg(c, 'toTaken')} | ${seg(a, 'toStart')} | ${seg(b, 'toStart')} | ${seg(c, 'toStart')} |`);
    }
    // Where the machine's CPU went, per transition: at 1,000/s the two cores are nearly full, and lag is queueing.
    const cpuCell = (runs: LagRun[], key: keyof CpuPerTransition) => (runs.length ? median(runs.map((r) => r.cpu[key])).toFixed(2) : '');
    const cpuTotal = (runs: LagRun[]) => (runs.length ? median(runs.map((r) => r.cpu.sender + r.cpu.worker + r.cpu.postgres + r.cpu.redis)) : NaN);
    console.log(`\n| rate | layout | CPU ms per transition: sending process | worker process | Postgres | Redis | total | total / naive |`);
    console.log(`|---|---|---|---|---|---|---|---|`);
    for (const rate of rates) {
      const naiveTotal = cpuTotal(at(naive, rate));
      for (const [name, runs] of [['beside', at(lags, rate)], ['in worker', at(lagsRelayInWorker, rate)], ['naive', at(naive, rate)]] as const) {
        if (!runs.length) continue;
        const total = cpuTotal(runs);
        console.log(`| ${rate}/s | ${name} | ${cpuCell(runs, 'sender')} | ${cpuCell(runs, 'worker')} | ${cpuCell(runs, 'postgres')} | ${cpuCell(runs, 'redis')} | ${total.toFixed(2)} | ${(total / naiveTotal).toFixed(2)}x |`);
      }
    }
    console.log(`\n| effects/s draining the backlog | tollgate | BullMQ + UPDATE | ratio |`);
    console.log(`|---|---|---|---|`);
    console.log(`| median of ${saturationRuns} | ${Math.round(perSecond)}/s | ${Math.round(update)}/s | ${(perSecond / update).toFixed(2)}x |`);
    console.log(`| each run | ${saturated.map((n) => Math.round(n)).join(', ')} | ${updates.map((n) => Math.round(n)).join(', ')} | ${saturated.map((n, i) => (n / (updates[i] as number)).toFixed(2)).join(', ')} |`);
    console.log(`| raw BullMQ, no-op jobs |  | ${Math.round(noop)}/s |  |`);
    const drainCpu = (ds: Drain[], key: keyof CpuPerTransition) => median(ds.map((d) => d.cpu[key]));
    const drainTotal = (ds: Drain[]) => median(ds.map((d) => d.cpu.sender + d.cpu.worker + d.cpu.postgres + d.cpu.redis));
    console.log(`\n| draining the backlog | CPU ms per effect: bench process | worker process | Postgres | Redis | total | total / baseline |`);
    console.log(`|---|---|---|---|---|---|---|`);
    for (const [name, ds] of [['tollgate (relay + worker)', drains], ['BullMQ + UPDATE (worker in the bench process)', updateDrains]] as const) {
      if (!ds.length) continue;
      const cells = (['sender', 'worker', 'postgres', 'redis'] as const).map((k) => drainCpu(ds, k).toFixed(3));
      console.log(`| ${name} | ${cells.join(' | ')} | ${drainTotal(ds).toFixed(3)} | ${(drainTotal(ds) / drainTotal(updateDrains)).toFixed(2)}x |`);
    }
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2] === 'worker') {
  workerProcess(process.env.BENCH_WORKER_URL as string).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
