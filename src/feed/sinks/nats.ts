import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import type { LifecycleEvent } from '../event.ts';
import type { FeedSink } from '../sink.ts';

/** Where a NATS consumer publishes, from its URL: `nats://host:4222[?stream=TOLLGATE&prefix=tollgate]`. */
export interface NatsTarget {
  /** `host:port` of the server. */
  readonly server: string;
  /** The JetStream stream, created on first use (subjects `<prefix>.>`) when missing. Default `TOLLGATE`. */
  readonly stream: string;
  /** First subject token. Default `tollgate`. */
  readonly prefix: string;
}

/** Parses a NATS consumer's URL; throws a message that says what is wrong. */
export function natsTarget(url: string): NatsTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`'${url}' is not a URL; a NATS consumer needs nats://host:port.`);
  }
  if (parsed.protocol !== 'nats:') throw new Error(`'${url}' is not a nats:// URL.`);
  const stream = parsed.searchParams.get('stream') ?? 'TOLLGATE';
  const prefix = parsed.searchParams.get('prefix') ?? 'tollgate';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream)) throw new Error(`stream '${stream}' must be letters, digits, _ or - (at most 64).`);
  if (!/^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64})*$/.test(prefix)) throw new Error(`subject prefix '${prefix}' must be dot-separated tokens of letters, digits, _ or -.`);
  return { server: `${parsed.hostname}:${parsed.port || '4222'}`, stream, prefix };
}

/**
 * `<prefix>.<machine>.<event type>`: each dot-separated part of the event type stays a subject token (timer events
 * `xstate.after.…` become several); characters a subject may not hold (spaces, `*`, `>`) become `_`.
 */
export function natsSubject(prefix: string, event: Pick<LifecycleEvent, 'machine' | 'event'>): string {
  const token = (part: string) => part.replace(/[^A-Za-z0-9_-]/g, '_') || '_';
  return [prefix, token(event.machine), ...event.event.type.split('.').map(token)].join('.');
}

/**
 * Publishes each event to JetStream and waits for the stream's acknowledgement (stored), with the transition id as
 * `Nats-Msg-Id`: a redelivery inside the stream's duplicate window (2 minutes by default) is dropped by the server.
 * The connection reconnects by itself; a publish while the server is away fails and the feed retries it.
 */
export function natsSink(url: string, options: { timeoutMs?: number } = {}): FeedSink {
  const target = natsTarget(url);
  const timeout = options.timeoutMs ?? 5000;
  let opened: Promise<{ nc: NatsConnection; js: JetStreamClient; headers: typeof natsHeaders }> | undefined;
  const open = () => {
    opened ??= (async () => {
      const { connect, headers, jetstream, jetstreamManager } = await natsClient();
      const nc = await connect({ servers: target.server, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout });
      try {
        const jsm = await jetstreamManager(nc, { timeout });
        await jsm.streams.info(target.stream).catch(async () => {
          await jsm.streams.add({ name: target.stream, subjects: [`${target.prefix}.>`] });
        });
        return { nc, js: jetstream(nc, { timeout }), headers };
      } catch (error) {
        await nc.close().catch(() => {});
        throw error;
      }
    })();
    opened.catch(() => {
      opened = undefined;
    });
    return opened;
  };
  return {
    async deliver(event) {
      const { nc, js, headers } = await open();
      if (nc.isClosed()) {
        opened = undefined;
        throw new Error(`the NATS connection to ${target.server} closed`);
      }
      const h = headers();
      h.set('Tollgate-Event-Type', event.type);
      await js.publish(natsSubject(target.prefix, event), JSON.stringify(event), { msgID: event.id, headers: h, timeout });
    },
    async close() {
      const current = opened;
      opened = undefined;
      if (current) await (await current.catch(() => undefined))?.nc.close().catch(() => {});
    },
  };
}

/**
 * The NATS client, loaded on first use: it is an optional peer dependency (its packages declare Node >= 22, and a
 * deployment without a NATS consumer should not install them).
 */
async function natsClient() {
  try {
    const [core, js] = await Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')]);
    return { connect: core.connect, headers: core.headers, jetstream: js.jetstream, jetstreamManager: js.jetstreamManager };
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error('the NATS sink needs the NATS client: npm install @nats-io/transport-node @nats-io/jetstream');
    }
    throw error;
  }
}
