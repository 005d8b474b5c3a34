// A second service that hears a machine's transitions from NATS JetStream: a durable consumer on the feed's stream,
// filtered on one machine's subjects, acknowledging each message once it has acted. Register the feed's side with
//   tollgate consumers add billing-feed --nats nats://127.0.0.1:4222 --machines subscription
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const stream = process.env.FEED_STREAM ?? 'TOLLGATE';
const prefix = process.env.FEED_PREFIX ?? 'tollgate';
const nc = await connect({ servers: process.env.NATS_SERVER ?? '127.0.0.1:4222' });
const jsm = await jetstreamManager(nc);
// The feed creates the stream on its first publish; a subscriber that starts first creates the same one.
await jsm.streams.info(stream).catch(() => jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] }));
await jsm.consumers.add(stream, { durable_name: 'billing', filter_subject: `${prefix}.subscription.>`, ack_policy: AckPolicy.Explicit });

const seen = new Set<string>(); // Nats-Msg-Id drops republished duplicates; a consumer's redelivery still needs this
const messages = await jetstream(nc).consumers.get(stream, 'billing').then((c) => c.consume());
console.log(`consuming ${prefix}.subscription.> from ${stream}`);
for await (const m of messages) {
  const event = m.json<{ id: string; machine: string; entityId: string; seq: number; event: { type: string }; from: string | null; to: string }>();
  if (!seen.has(event.id)) {
    seen.add(event.id);
    console.log(`${m.subject} ${event.entityId} #${event.seq}: ${event.from} -> ${event.to}`);
  }
  m.ack();
}
