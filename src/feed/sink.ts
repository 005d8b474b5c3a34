import type { LifecycleEvent } from './event.ts';

/** Where one consumer's events go: a webhook, a JetStream stream, an in-process handler. */
export interface FeedSink {
  /** Delivers one event; resolves once the receiver has it durably, rejects to have it retried. */
  deliver(event: LifecycleEvent): Promise<void>;
  /** Releases connections; deliveries in flight may fail. */
  close(): Promise<void>;
}
