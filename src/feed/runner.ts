import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { Clock } from '../clock.ts';
import { settlesWithin } from '../jobs/deadline.ts';
import type { ProcessLogger } from '../jobs/logger.ts';
import { startLoop, type Loop } from '../jobs/loop.ts';
import type { RuntimePorts } from '../runtime/ports.ts';
import { cursorOf, entityKey, type ConsumerRow, type ConsumerStore, type Cursor } from '../store/consumer-store.ts';
import { toLifecycleEvent, touchesStates } from './event.ts';
import type { FeedRow } from '../store/rows.ts';
import type { FeedMetrics } from '../observe/feed-metrics.ts';
import type { FeedSink } from './sink.ts';
import { natsSink } from './sinks/nats.ts';
import { webhookSink } from './sinks/webhook.ts';
import { backoffMs } from '../backoff.ts';

/** Intervals and limits of the feed; the defaults suit production. */
export interface FeedOptions {
  readonly clock: Clock;
  readonly logger: ProcessLogger;
  /** How often a caught-up consumer looks for new transitions. Default 250 ms. */
  readonly pollIntervalMs?: number;
  /** A consumer's lease lasts this long unless renewed (its process died: another takes over). Default 15,000 ms. */
  readonly leaseTtlMs?: number;
  /** Transitions read per round. Default 500. */
  readonly batchSize?: number;
  /** Entities of one consumer delivered at once (each entity's events one after the other). Default 16. */
  readonly entityConcurrency?: number;
  /** Backoff between attempts: `retryBaseMs * 2^(attempt-1)`, jittered, at most `retryMaxMs`. Defaults 500 and 60,000 ms. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

/** A running feed process. */
export interface Feed {
  /** Process id as leases record it. */
  readonly owner: string;
  /** Looks for work now (consumers to take, leases to renew). */
  wake(): void;
  /** Stops delivering (what is in flight is abandoned: redelivered later) and gives its leases back. */
  stop(deadlineMs?: number): Promise<void>;
}

interface Held {
  readonly row: ConsumerRow;
  readonly token: string;
  /** Stop at once: what is in flight is abandoned (redelivered by the next holder). */
  readonly stopped: AbortController;
  /** Stop after the current batch is delivered and its cursor moved: a hand-over without duplicates. */
  readonly leaving: AbortController;
  readonly done: Promise<void>;
}

/** What the feed needs of the runtime. */
export type FeedPort = Pick<RuntimePorts, 'consumerStore' | 'feedMetrics' | 'transitionHandlers'>;

interface FeedState {
  readonly owner: string;
  readonly port: FeedPort;
  readonly store: ConsumerStore;
  readonly metrics: FeedMetrics;
  readonly options: Required<FeedOptions>;
  readonly held: Map<string, Held>;
  readonly ensured: Set<string>;
}

/**
 * Starts the lifecycle feed in this process: it takes a fair share of the consumers (a lease each, renewed while
 * it runs; a process that dies loses its leases after `leaseTtlMs`), and for each runs one loop that reads the
 * history after the consumer's cursor and delivers to its sink. Consumers never wait on each other, and the gate
 * never waits on the feed: the feed only reads what the gate committed.
 */
export function startFeed(port: FeedPort, options: FeedOptions): Feed {
  const state: FeedState = {
    owner: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    port,
    store: port.consumerStore,
    metrics: port.feedMetrics(),
    options: {
      pollIntervalMs: 250,
      leaseTtlMs: 15_000,
      batchSize: 500,
      entityConcurrency: 16,
      retryBaseMs: 500,
      retryMaxMs: 60_000,
      ...options,
    },
    held: new Map(),
    ensured: new Set(),
  };
  const leases: Loop = startLoop(
    async () => {
      await leaseRound(state);
      return false;
    },
    Math.max(Math.floor(state.options.leaseTtlMs / 3), 50),
    (error) => state.options.logger.error({ err: error }, 'feed lease round failed; retrying'),
  );
  let stopping: Promise<void> | undefined;
  return {
    owner: state.owner,
    wake: () => leases.wake(),
    stop(deadlineMs = 5000) {
      stopping ??= (async () => {
        await leases.stop();
        const all = [...state.held.values()];
        for (const h of all) h.leaving.abort();
        if (!(await settlesWithin(Promise.all(all.map((h) => h.done)), deadlineMs))) {
          for (const h of all) h.stopped.abort();
          await settlesWithin(Promise.all(all.map((h) => h.done)), 1000);
        }
        state.held.clear();
        await state.store.leaveProcesses(state.owner).catch(() => {});
      })();
      return stopping;
    },
  };
}

/** Heartbeat, renew what is held, then give back or take consumers until this process holds its share. */
async function leaseRound(state: FeedState): Promise<void> {
  const { store, options, held } = state;
  for (const [name, registered] of state.port.transitionHandlers) {
    if (state.ensured.has(name)) continue;
    const o = registered.options;
    await store.ensureInProcess({
      name,
      sink: 'in_process',
      target: null,
      secret: null,
      machines: o.machines ?? null,
      events: o.events ?? null,
      states: o.states ?? null,
      withContext: o.withContext ?? false,
      maxAttempts: o.maxAttempts ?? 10,
    });
    state.ensured.add(name);
  }
  const live = await store.heartbeat(state.owner, options.leaseTtlMs);
  const kept = await store.renew([...held.keys()], options.leaseTtlMs);
  for (const [token, h] of held) if (!kept.has(token)) drop(state, token, h);

  const local = [...state.ensured];
  const share = Math.ceil((await store.claimable(local)) / live);
  const staying = [...held.values()].filter((h) => !h.leaving.signal.aborted);
  // Extra consumers leave after their current batch (their loop gives the lease back): no event delivered twice.
  for (const h of staying.slice(share)) h.leaving.abort();
  if (staying.length < share) {
    for (const row of await store.claim(state.owner, share - staying.length, options.leaseTtlMs, local)) take(state, row);
  }
  await reportLag(state);
}

function take(state: FeedState, row: ConsumerRow): void {
  const token = row.lease_token as string;
  const stopped = new AbortController();
  const leaving = new AbortController();
  // Each entity worker waiting out a backoff listens on `stopped` (and the loop's idle signal once): more than
  // Node's default of 10 at once is expected, not a leak.
  setMaxListeners(state.options.entityConcurrency + 2, stopped.signal);
  const done = runConsumer(state, row, token, stopped.signal, leaving.signal).catch((error: unknown) => {
    if (!stopped.signal.aborted) state.options.logger.error({ err: error, consumer: row.name }, 'feed consumer stopped on an error; it is taken again at the next lease round');
  });
  state.held.set(token, { row, token, stopped, leaving, done });
  void done.then(() => {
    // A loop that ended (left, lease lost, error) gives its lease back: the next round, here or elsewhere, takes it.
    if (state.held.get(token)?.done === done) {
      state.held.delete(token);
      state.metrics.lagSeconds.remove(row.name);
      state.metrics.behind.remove(row.name);
      void state.store.release(token).catch(() => {});
    }
  });
}

function drop(state: FeedState, token: string, h: Held): void {
  h.stopped.abort();
  state.held.delete(token);
  state.metrics.lagSeconds.remove(h.row.name);
  state.metrics.behind.remove(h.row.name);
}

async function reportLag(state: FeedState): Promise<void> {
  if (state.held.size === 0) return;
  const names = new Set([...state.held.values()].map((h) => h.row.name));
  for (const status of await state.store.list()) {
    if (!names.has(status.name)) continue;
    state.metrics.lagSeconds.set({ consumer: status.name }, status.lag_seconds);
    state.metrics.behind.set({ consumer: status.name }, status.behind);
  }
}

class Abandoned extends Error {}

/**
 * One consumer's loop: read after the cursor, deliver, advance; until the lease is lost, the feed stops (`signal`:
 * at once) or the consumer leaves this process (`leaving`: after the batch in hand).
 */
async function runConsumer(state: FeedState, row: ConsumerRow, token: string, signal: AbortSignal, leaving: AbortSignal): Promise<void> {
  const { store, options } = state;
  const sink = sinkOf(state, row);
  let cursor = cursorOf(row);
  try {
    const idle = AbortSignal.any([signal, leaving]);
    while (!idle.aborted) {
      const counts = { delivered: 0, retried: 0, deadLettered: 0, lastError: null as string | null };
      await redeliverMarked(state, row, sink, signal, counts);
      const { rows, horizon } = await store.read(row, cursor, options.batchSize);
      const selected = rows.filter((r) => touchesStates(r, row.states));
      if (selected.length > 0) await deliverBatch(state, row, sink, selected, signal, counts);
      const full = rows.length === options.batchSize;
      const last = rows.at(-1);
      const next: Cursor = full && last ? { xid: last.xid, seq: last.seq, id: last.id } : { xid: maxXid(horizon, cursor.xid), seq: 0, id: '00000000-0000-0000-0000-000000000000' };
      const moved = next.xid !== cursor.xid || next.seq !== cursor.seq || next.id !== cursor.id;
      if (moved || counts.delivered + counts.retried + counts.deadLettered > 0) {
        if (signal.aborted) return;
        if (!(await store.advance(row.name, token, next, counts))) return;
        cursor = next;
      }
      if (!full) await pause(options.pollIntervalMs, idle);
    }
  } catch (error) {
    if (error instanceof Abandoned || signal.aborted) return;
    throw error;
  } finally {
    await sink.close().catch(() => {});
  }
}

function maxXid(a: string, b: string): string {
  return BigInt(a) >= BigInt(b) ? a : b;
}

/** Delivers a batch: entities side by side (at most `entityConcurrency`), each entity's events in seq order. */
async function deliverBatch(state: FeedState, row: ConsumerRow, sink: FeedSink, rows: readonly FeedRow[], signal: AbortSignal, counts: Counts): Promise<void> {
  const byEntity = new Map<string, FeedRow[]>();
  for (const r of rows) {
    const key = entityKey(r.machine, r.entity_id);
    byEntity.set(key, [...(byEntity.get(key) ?? []), r]);
  }
  const held = await state.store.heldEntities(row.name);
  const groups = [...byEntity.entries()];
  let next = 0;
  const worker = async () => {
    while (next < groups.length) {
      const [key, events] = groups[next++] as [string, FeedRow[]];
      events.sort((a, b) => a.seq - b.seq);
      if (held.has(key)) {
        await deadLetterFrom(state, row, events, 0, 0, `held behind an earlier dead letter of ${events[0]?.machine}/${events[0]?.entity_id}`, counts);
        continue;
      }
      await deliverInOrder(state, row, sink, events, signal, counts);
    }
  };
  await Promise.all(Array.from({ length: Math.min(state.options.entityConcurrency, groups.length) }, worker));
}

type Counts = { delivered: number; retried: number; deadLettered: number; lastError: string | null };

/** One entity's events, in order; the first that exhausts its attempts is dead-lettered with the ones after it. */
async function deliverInOrder(state: FeedState, row: ConsumerRow, sink: FeedSink, events: readonly FeedRow[], signal: AbortSignal, counts: Counts): Promise<boolean> {
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as FeedRow;
    const failure = await deliverWithRetries(state, row, sink, event, signal, counts);
    if (failure !== undefined) {
      await deadLetterFrom(state, row, events, i, row.max_attempts, failure, counts);
      return false;
    }
  }
  return true;
}

async function deadLetterFrom(state: FeedState, row: ConsumerRow, events: readonly FeedRow[], from: number, attempts: number, error: string, counts: Counts): Promise<void> {
  const first = events[from] as FeedRow;
  const letters = events.slice(from).map((r, i) => ({ row: r, attempts: i === 0 ? attempts : 0, error: i === 0 ? error : `held behind ${first.id}` }));
  await state.store.deadLetter(row.name, letters);
  counts.deadLettered += letters.length;
  counts.lastError = error;
  state.metrics.deadLettered.inc({ consumer: row.name }, letters.length);
  state.options.logger.warn({ consumer: row.name, transitionId: first.id, machine: first.machine, entityId: first.entity_id, error }, 'feed event dead-lettered');
}

/** Undefined when delivered; the last error when the attempts ran out. Throws Abandoned when the feed stops. */
async function deliverWithRetries(state: FeedState, row: ConsumerRow, sink: FeedSink, r: FeedRow, signal: AbortSignal, counts: Counts): Promise<string | undefined> {
  const event = toLifecycleEvent(r, row.with_context);
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw new Abandoned();
    try {
      await sink.deliver(event);
      counts.delivered++;
      state.metrics.delivered.inc({ consumer: row.name });
      return undefined;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (attempt >= row.max_attempts) return message;
      counts.retried++;
      counts.lastError = message;
      state.metrics.retried.inc({ consumer: row.name });
      await pause(backoffMs(attempt, { baseMs: state.options.retryBaseMs, maxMs: state.options.retryMaxMs, jitter: [0.75, 1.25] }), signal);
    }
  }
}

/** Dead letters that `consumers redeliver` marked: delivered entity by entity in seq order, cleared once delivered. */
async function redeliverMarked(state: FeedState, row: ConsumerRow, sink: FeedSink, signal: AbortSignal, counts: Counts): Promise<void> {
  const rows = await state.store.redeliveries(row);
  if (rows.length === 0) return;
  const byEntity = new Map<string, FeedRow[]>();
  for (const r of rows) {
    const key = entityKey(r.machine, r.entity_id);
    byEntity.set(key, [...(byEntity.get(key) ?? []), r]);
  }
  for (const events of byEntity.values()) {
    const delivered: string[] = [];
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as FeedRow;
      const failure = await deliverWithRetries(state, row, sink, event, signal, counts);
      if (failure !== undefined) {
        await deadLetterFrom(state, row, events, i, row.max_attempts, failure, counts);
        break;
      }
      delivered.push(event.id);
    }
    await state.store.clearDeadLetters(row.name, delivered);
  }
}

function sinkOf(state: FeedState, row: ConsumerRow): FeedSink {
  switch (row.sink) {
    case 'webhook':
      return webhookSink({ url: row.target ?? '', secret: row.secret ?? '', clock: state.options.clock });
    case 'nats':
      return natsSink(row.target ?? '');
    case 'in_process': {
      const registered = state.port.transitionHandlers.get(row.name);
      return {
        deliver: async (event) => {
          if (!registered) throw new Error(`no handler is registered as '${row.name}' in this process`);
          await registered.handler(event);
        },
        close: async () => {},
      };
    }
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
