import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../src/clock.ts';
import type { LifecycleEvent } from '../../src/feed/event.ts';
import { startFeed, type Feed, type FeedOptions } from '../../src/feed/runner.ts';
import type { ConsumerSpec } from '../../src/store/consumer-store.ts';
import type { Tollgate } from '../../src/index.ts';
import { quietLogger } from '../support/processes.ts';
import { portsOf } from '../../src/runtime/ports.ts';

export { feedMachines } from '../fixtures/feed-machines.ts';

const feeds: Feed[] = [];

/** A feed with test-fast intervals; stopped by stopFeeds. */
export function testFeed(tg: Tollgate, options: Partial<FeedOptions> = {}): Feed {
  const feed = startFeed(portsOf(tg), {
    clock: systemClock,
    logger: quietLogger,
    pollIntervalMs: 50,
    leaseTtlMs: 1500,
    retryBaseMs: 20,
    retryMaxMs: 200,
    ...options,
  });
  feeds.push(feed);
  return feed;
}

export async function stopFeeds(): Promise<void> {
  await Promise.all(feeds.splice(0).map((f) => f.stop(1000)));
}

/** Per entity, the seqs received in order of first arrival (duplicates dropped by id). */
export function firstArrivals(events: readonly LifecycleEvent[]): Map<string, number[]> {
  const seen = new Set<string>();
  const byEntity = new Map<string, number[]>();
  for (const e of events) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    const key = `${e.machine}/${e.entityId}`;
    byEntity.set(key, [...(byEntity.get(key) ?? []), e.seq]);
  }
  return byEntity;
}

/** Checks every entity's first arrivals are 1..n in order (n from `expected`). */
export function inSeqOrder(events: readonly LifecycleEvent[], expected: ReadonlyMap<string, number>): string[] {
  const problems: string[] = [];
  const arrivals = firstArrivals(events);
  for (const [key, n] of expected) {
    const got = arrivals.get(key) ?? [];
    const want = Array.from({ length: n }, (_, i) => i + 1);
    if (got.join(',') !== want.join(',')) problems.push(`${key}: ${got.join(',')} (want 1..${n})`);
  }
  return problems;
}

/** A real HTTP webhook receiver on a free loopback port. */
export interface Receiver {
  readonly url: string;
  readonly requests: Array<{ headers: IncomingMessage['headers']; body: string; event: LifecycleEvent }>;
  readonly events: LifecycleEvent[];
  /** Answer status for the next requests (default 200); a function decides per request. */
  respond: (event: LifecycleEvent) => number | Promise<number>;
  close(): Promise<void>;
  /** Listens again on the same port after close(). */
  reopen(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<Receiver> {
  let server: Server;
  const receiver: Receiver = {
    url: '',
    requests: [],
    events: [],
    respond: () => 200,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    reopen: async () => {
      await listen(Number(new URL(receiver.url).port));
    },
  };
  const listen = async (p: number) => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', async () => {
        const event = JSON.parse(body) as LifecycleEvent;
        const status = await receiver.respond(event);
        if (status === 200) {
          receiver.requests.push({ headers: req.headers, body, event });
          receiver.events.push(event);
        }
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(p, '127.0.0.1', () => resolve()));
    (receiver as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  };
  await listen(port);
  return receiver;
}

/** Reads every message of a JetStream stream: subject, Nats-Msg-Id and the event. */
export async function streamMessages(server: string, stream: string): Promise<Array<{ subject: string; msgId: string | undefined; event: LifecycleEvent }>> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: server });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream).catch(() => undefined);
    const out: Array<{ subject: string; msgId: string | undefined; event: LifecycleEvent }> = [];
    if (!info) return out;
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      if (m) out.push({ subject: m.subject, msgId: m.header?.get('Nats-Msg-Id'), event: m.json<LifecycleEvent>() });
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** A consumer spec with defaults. */
export function spec(over: Partial<ConsumerSpec> & Pick<ConsumerSpec, 'name' | 'sink'>): ConsumerSpec {
  return { target: null, secret: null, machines: null, events: null, states: null, withContext: false, maxAttempts: 10, ...over };
}
