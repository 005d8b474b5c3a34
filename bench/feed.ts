/**
 * Lifecycle feed benchmark, beside baselines measured in the same run on the same Postgres and NATS:
 *
 * `drain`: events/s a feed delivers from a backlog of committed transitions (BENCH_FEED_BACKLOG, default 4,000, over
 * a tenth as many entities) to NATS JetStream and to a webhook receiver (a local HTTP server in this process that
 * answers 204). Baseline: the same events (the same JSON, the same Nats-Msg-Id; signed for the webhook) published or
 * POSTed straight from a loop with as many in flight as the feed delivers at once (16 entities), the rows read
 * before the clock starts. Each side runs BENCH_RUNS times (default 3), the order rotating; medians. Every feed run
 * is a new consumer from the beginning and every JetStream run a new stream, so nothing is deduplicated away.
 *
 * `lag`: transitions sent through the gate at BENCH_FEED_RATE per second (default 500) for BENCH_FEED_SECONDS
 * (default 5), lag = arrival at the receiver minus the moment the gate's commit returned, per transition id, read on
 * this process's clock. Three sides, one at a time, the order rotating, BENCH_RUNS each (medians of each
 * percentile): the feed (default tuning: it polls every 250 ms when caught up) delivering to a JetStream consumer,
 * the feed delivering to a webhook consumer, and the baseline, the naive dual write: each commit, once returned,
 * publishes its event to JetStream straight from the request (nothing survives a crash between the two). JetStream
 * arrivals are read by a core NATS subscription on the stream's subjects.
 *
 * Everything (gate, feed, receiver, baseline loops) runs in this process, as `tollgate dev` would; the machine's CPU
 * busy share and its load average are printed with every table: on a shared machine, read the ratios.
 * Run: npm run bench:feed (needs Postgres and NATS with JetStream; BENCH_DATABASE_URL, BENCH_NATS_URL override the
 * defaults). BENCH_FEED_PARTS (default `drain,lag`) picks the parts.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { createTollgate, defineMachine } from '../src/index.ts';
import { consumerStore, type ConsumerSpec } from '../src/store/consumer-store.ts';
import { toLifecycleEvent, type LifecycleEvent } from '../src/feed/event.ts';
import type { FeedRow } from '../src/store/rows.ts';
import { signatureHeader, signWebhook } from '../src/feed/signature.ts';
import { natsSubject } from '../src/feed/sinks/nats.ts';
import { quoteIdent } from '../src/store/sql-client.ts';
import { startProcesses } from '../workers/index.ts';
import { busyBetween, cpuReading, median, percent, percentile, printTable, scratchDatabase } from './support.ts';
import { testAccess } from '../src/runtime/test-access.ts';

const natsUrl = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
const backlog = Number(process.env.BENCH_FEED_BACKLOG ?? 4000);
const rate = Number(process.env.BENCH_FEED_RATE ?? 500);
const seconds = Number(process.env.BENCH_FEED_SECONDS ?? 5);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const parts = new Set((process.env.BENCH_FEED_PARTS ?? 'drain,lag').split(','));
/** What the feed delivers at once per consumer (its default `entityConcurrency`): the baselines' loops match it. */
const inFlight = 16;
const secret = 'bench-secret';
const quiet = { error() {}, warn() {}, info() {} };

/** A note-taking machine: one self-transition per event, no effects, no timers: only the feed's work. */
const note = defineMachine({
  machine: setup({ types: { context: {} as { n: number }, events: {} as { type: 'NOTE'; text: string } } }).createMachine({
    id: 'note',
    context: { n: 0 },
    initial: 'open',
    states: { open: { on: { NOTE: { actions: assign({ n: ({ context }) => context.n + 1 }) } } } },
  }),
  version: 1,
  input: z.strictObject({}),
  events: { NOTE: z.strictObject({ text: z.string() }) },
});

const openRuntime = (url: string) => createTollgate({ machines: { note }, database: { url, maxConnections: 32 } });
type Tollgate = Awaited<ReturnType<typeof openRuntime>>;

const now = () => performance.now();
const tag = () => randomBytes(4).toString('hex');

async function nats() {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstream, jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: new URL(natsUrl).host });
  const jsm = await jetstreamManager(nc);
  return { nc, js: jetstream(nc), jsm };
}
type Nats = Awaited<ReturnType<typeof nats>>;

/** A webhook receiver: answers 204 and calls `onEvent` with each event and its arrival time. */
async function receiver(onEvent: (event: LifecycleEvent, at: number) => void): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      onEvent(JSON.parse(body) as LifecycleEvent, now());
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, server };
}

const spec = (over: Pick<ConsumerSpec, 'name' | 'sink' | 'target' | 'secret'>): ConsumerSpec => ({
  machines: null,
  events: null,
  states: null,
  withContext: false,
  maxAttempts: 10,
  ...over,
});

/** Runs `op` over `items` with `n` in flight. */
async function pool<T>(items: readonly T[], n: number, op: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await op(items[next++] as T);
  }));
}

interface Drained {
  readonly perSecond: number;
  /** Failed delivery attempts the feed retried (0 for the loops). */
  readonly retried: number;
  readonly busy: number;
}

/** The drain part: the feed and the loops over the same backlog, BENCH_RUNS rounds with the order rotating. */
async function drainPart(tg: Tollgate, n: Nats): Promise<void> {
  const loadAtStart = loadAverage();
  const store = consumerStore(testAccess(tg).client, testAccess(tg).schema);
  const entities = Math.max(1, Math.floor(backlog / 10));
  await pool(Array.from({ length: entities }, (_, i) => i), 32, (i) => tg.create('note', `d${i}`, {}));
  await pool(Array.from({ length: backlog - entities }, (_, i) => i), 32, (i) => tg.send('note', `d${i % entities}`, { type: 'NOTE', text: 'x' }));
  const rows = await testAccess(tg).client.query<FeedRow>(
    `SELECT id, machine, entity_id, seq, event, from_state, to_state, machine_version, policy_version, actor, created_at, xid::text AS xid
     FROM ${quoteIdent(testAccess(tg).schema)}.transitions ORDER BY xid, seq, id`,
  );
  const events = rows.map((r) => toLifecycleEvent(r, false));
  let arrived = 0;
  const hook = await receiver(() => {
    arrived++;
  });
  const processes = await startProcesses(tg, { transport: 'in-process', relay: false, timers: false, effectWorkers: false, eventWorkers: false, logger: quiet });

  const untilWebhookHas = async (count: number) => {
    const limit = now() + 120_000;
    while (arrived < count) {
      if (now() > limit) throw new Error(`the webhook receiver has ${arrived} of ${count} events after two minutes`);
      await sleep(10);
    }
  };
  const untilStreamHas = async (stream: string, count: number) => {
    const limit = now() + 120_000;
    for (;;) {
      const messages = (await n.jsm.streams.info(stream).catch(() => undefined))?.state.messages ?? 0;
      if (messages >= count) return;
      if (now() > limit) throw new Error(`stream ${stream} has ${messages} of ${count} events after two minutes`);
      await sleep(10);
    }
  };
  let retried = 0;
  const sides: Record<string, () => Promise<number>> = {
    'feed -> JetStream': async () => {
      const t = tag();
      await n.jsm.streams.add({ name: `FEEDB_${t}`, subjects: [`feedb_${t}.>`] });
      const started = now();
      await store.add(spec({ name: `js-${t}`, sink: 'nats', target: `${natsUrl}?stream=FEEDB_${t}&prefix=feedb_${t}`, secret: null }), 'beginning');
      processes.feed?.wake();
      await untilStreamHas(`FEEDB_${t}`, events.length);
      const elapsed = now() - started;
      retried = await retriedOf(tg, `js-${t}`);
      await store.remove(`js-${t}`);
      await n.jsm.streams.delete(`FEEDB_${t}`);
      return elapsed;
    },
    'loop -> JetStream': async () => {
      const t = tag();
      await n.jsm.streams.add({ name: `LOOPB_${t}`, subjects: [`loopb_${t}.>`] });
      const started = now();
      await pool(events, inFlight, (e) => n.js.publish(natsSubject(`loopb_${t}`, e), JSON.stringify(e), { msgID: e.id }));
      const elapsed = now() - started;
      await n.jsm.streams.delete(`LOOPB_${t}`);
      return elapsed;
    },
    'feed -> webhook': async () => {
      const t = tag();
      arrived = 0;
      const started = now();
      await store.add(spec({ name: `hook-${t}`, sink: 'webhook', target: hook.url, secret }), 'beginning');
      processes.feed?.wake();
      await untilWebhookHas(events.length);
      const elapsed = now() - started;
      retried = await retriedOf(tg, `hook-${t}`);
      await store.remove(`hook-${t}`);
      return elapsed;
    },
    'loop -> webhook': async () => {
      arrived = 0;
      const started = now();
      await pool(events, inFlight, async (e) => {
        const body = JSON.stringify(e);
        const response = await fetch(hook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [signatureHeader]: signWebhook(secret, body, Math.floor(Date.now() / 1000)), 'tollgate-event-id': e.id },
          body,
        });
        await response.text();
      });
      return now() - started;
    },
  };
  const names = Object.keys(sides);
  const results = new Map<string, Drained[]>(names.map((name) => [name, []]));
  for (let run = 0; run < runs; run++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(run + k) % names.length] as string;
      const before = cpuReading();
      retried = 0;
      const ms = await (sides[name] as () => Promise<number>)();
      results.get(name)?.push({ perSecond: (events.length / ms) * 1000, retried, busy: busyBetween(before, cpuReading()) });
    }
  }
  await processes.stop({ deadlineMs: 1000 });
  hook.server.close();
  hook.server.closeAllConnections();

  const med = (name: string) => median((results.get(name) ?? []).map((r) => r.perSecond));
  const each = (name: string) => (results.get(name) ?? []).map((r) => r.perSecond.toFixed(0)).join(', ');
  const busy = (name: string) => percent(median((results.get(name) ?? []).map((r) => r.busy)));
  console.log(`\n## Draining a backlog of ${events.length} transitions over ${entities} entities (${runs} runs per side, order rotating, medians); load average at start ${loadAtStart}, at end ${loadAverage()}`);
  printTable(
    ['sink', 'feed events/s', 'each run', 'baseline: loop events/s', 'each run', 'feed / loop', 'feed retries', 'machine CPU busy: feed, loop'],
    (['JetStream', 'webhook'] as const).map((sink) => [
      sink,
      med(`feed -> ${sink}`).toFixed(0),
      each(`feed -> ${sink}`),
      med(`loop -> ${sink}`).toFixed(0),
      each(`loop -> ${sink}`),
      (med(`feed -> ${sink}`) / med(`loop -> ${sink}`)).toFixed(2),
      (results.get(`feed -> ${sink}`) ?? []).reduce((sum, r) => sum + r.retried, 0),
      `${busy(`feed -> ${sink}`)}, ${busy(`loop -> ${sink}`)}`,
    ]),
  );
}

interface Lagged {
  readonly achieved: number;
  readonly p50: number;
  readonly p99: number;
  /** Not arrived 15 s after the load ended (left out of the percentiles). */
  readonly missing: number;
  /** Never arrived, after a minute more. */
  readonly lost: number;
  /** Failed delivery attempts the feed retried (0 for the baseline). */
  readonly retried: number;
  readonly busy: number;
}

/** Sends at `rate` per second for `seconds`; `committed(id, at)` for each commit as it returns. */
async function load(tg: Tollgate, entities: number, committed: (id: string, at: number) => void): Promise<number> {
  const total = rate * seconds;
  const started = now();
  const inflight = new Set<Promise<unknown>>();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - now();
    if (wait > 1) await sleep(wait);
    const p = tg.send('note', `l${i % entities}`, { type: 'NOTE', text: 'x' }).then((r) => committed(r.transition.id, now()));
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    if (inflight.size >= 64) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  return total / ((now() - started) / 1000);
}

/** The lag part: the feed to JetStream, the feed to a webhook, and the naive dual write, one at a time, rotating. */
async function lagPart(tg: Tollgate, n: Nats): Promise<void> {
  const loadAtStart = loadAverage();
  const store = consumerStore(testAccess(tg).client, testAccess(tg).schema);
  const entities = 500;
  await pool(Array.from({ length: entities }, (_, i) => i), 32, (i) => tg.create('note', `l${i}`, {}));
  const commits = new Map<string, number>();
  const arrivals = new Map<string, number>();
  const arrive = (id: string | undefined) => {
    if (id && !arrivals.has(id)) arrivals.set(id, now());
  };
  const hook = await receiver((e) => arrive(e.id));
  const processes = await startProcesses(tg, { transport: 'in-process', relay: false, timers: false, effectWorkers: false, eventWorkers: false, logger: quiet });
  // The entity creations above committed before every consumer starts: nothing to drain first.
  const sides = ['feed -> JetStream', 'feed -> webhook', 'baseline: naive dual write -> JetStream'] as const;
  const results = new Map<string, Lagged[]>(sides.map((side) => [side, []]));
  for (let run = 0; run < runs; run++) {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(run + k) % sides.length] as (typeof sides)[number];
      const t = tag();
      const prefix = `lagb_${t}`;
      await n.jsm.streams.add({ name: `LAGB_${t}`, subjects: [`${prefix}.>`] });
      // JetStream arrivals: a core subscription sees each message as the stream stores it.
      const sub = n.nc.subscribe(`${prefix}.>`, { callback: (_error, m) => arrive(m.headers?.get('Nats-Msg-Id')) });
      commits.clear();
      arrivals.clear();
      const consumer = side === 'feed -> JetStream' ? `js-${t}` : side === 'feed -> webhook' ? `hook-${t}` : undefined;
      if (side === 'feed -> JetStream') await store.add(spec({ name: `js-${t}`, sink: 'nats', target: `${natsUrl}?stream=LAGB_${t}&prefix=${prefix}`, secret: null }));
      if (side === 'feed -> webhook') await store.add(spec({ name: `hook-${t}`, sink: 'webhook', target: hook.url, secret }));
      if (consumer) {
        processes.feed?.wake();
        // Taken (a lease round) before the clock starts.
        while ((await store.list(consumer))[0]?.lease_owner === null) await sleep(20);
      }
      const before = cpuReading();
      const published: Array<Promise<unknown>> = [];
      const achieved = await load(tg, entities, (id, at) => {
        commits.set(id, at);
        if (!consumer) {
          // The dual write: the request publishes its own event once its commit returned.
          const event = { id, type: 'note.transitioned', machine: 'note', event: { type: 'NOTE', text: 'x' } } as const;
          published.push(n.js.publish(`${prefix}.note.NOTE`, JSON.stringify(event), { msgID: id }));
        }
      });
      await Promise.all(published);
      const deadline = now() + 15_000;
      while (now() < deadline && arrivals.size < commits.size) await sleep(20);
      const busy = busyBetween(before, cpuReading());
      const values = [...commits].flatMap(([id, at]) => (arrivals.has(id) ? [(arrivals.get(id) as number) - at] : [])).sort((a, b) => a - b);
      const late = commits.size - values.length;
      // What had not arrived 15 s after the load must still arrive (slow, not lost): waited for, up to a minute more.
      const patience = now() + 60_000;
      while (now() < patience && [...commits.keys()].some((id) => !arrivals.has(id))) await sleep(100);
      const lost = [...commits.keys()].filter((id) => !arrivals.has(id)).length;
      sub.unsubscribe();
      const retried = consumer ? await retriedOf(tg, consumer) : 0;
      results.get(side)?.push({ achieved, busy, p50: percentile(values, 50), p99: percentile(values, 99), missing: late, lost, retried });
      if (consumer) await store.remove(consumer);
      await n.jsm.streams.delete(`LAGB_${t}`);
    }
  }
  await processes.stop({ deadlineMs: 1000 });
  hook.server.close();
  hook.server.closeAllConnections();

  const of = (side: string) => results.get(side) ?? [];
  const med = (side: string, f: (x: Lagged) => number) => median(of(side).map(f));
  const naive = 'baseline: naive dual write -> JetStream';
  console.log(`\n## Lag (commit returned -> arrival) at ${rate} transitions/s for ${seconds} s over ${entities} entities (${runs} runs per side, order rotating, medians); load average at start ${loadAtStart}, at end ${loadAverage()}`);
  printTable(
    ['delivery', 'lag p50 ms', 'lag p99 ms', 'p99 of each run', 'p50 / naive p50', 'p99 / naive p99', 'achieved/s', 'later than 15 s', 'lost', 'retried', 'machine CPU busy'],
    sides.map((side) => [
      side,
      med(side, (x) => x.p50).toFixed(1),
      med(side, (x) => x.p99).toFixed(1),
      of(side).map((x) => x.p99.toFixed(0)).join(', '),
      (med(side, (x) => x.p50) / med(naive, (x) => x.p50)).toFixed(0),
      (med(side, (x) => x.p99) / med(naive, (x) => x.p99)).toFixed(1),
      med(side, (x) => x.achieved).toFixed(0),
      of(side).reduce((sum, x) => sum + x.missing, 0),
      of(side).reduce((sum, x) => sum + x.lost, 0),
      of(side).reduce((sum, x) => sum + x.retried, 0),
      percent(med(side, (x) => x.busy)),
    ]),
  );
}

/** The feed's retried counter for a consumer in this process (its row's counter moves only with the cursor). */
async function retriedOf(tg: Tollgate, consumer: string): Promise<number> {
  const line = (await tg.metricsText()).split('\n').find((l) => l.startsWith(`tollgate_feed_retried_total{consumer="${consumer}"}`));
  return Number(line?.split(' ').at(-1) ?? 0);
}

function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(1)).join(' ');
}

async function main(): Promise<void> {
  console.log(`# bench/feed.ts: ${new Date().toISOString()}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), load average ${loadAverage()}`);
  const n = await nats();
  for (const part of ['drain', 'lag'] as const) {
    if (!parts.has(part)) continue;
    const db = await scratchDatabase('tg_bench_feed');
    const tg = await openRuntime(db.url);
    try {
      await tg.migrate();
      await (part === 'drain' ? drainPart(tg, n) : lagPart(tg, n));
    } finally {
      await tg.close();
      await db.drop();
    }
  }
  await n.nc.close();
}

await main();
