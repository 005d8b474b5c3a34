import type { Clock } from '../../clock.ts';
import type { LifecycleEvent } from '../event.ts';
import type { FeedSink } from '../sink.ts';
import { signatureHeader, signWebhook } from '../signature.ts';

/** Options of a webhook sink. */
export interface WebhookSinkOptions {
  readonly url: string;
  readonly secret: string;
  readonly clock: Clock;
  /** Time one request may take. Default 10,000 ms. */
  readonly timeoutMs?: number;
}

/**
 * POSTs each event as JSON, signed (signature.ts). Any 2xx is delivered; anything else, a timeout or a refused
 * connection is a failure the feed retries with backoff.
 */
export function webhookSink(options: WebhookSinkOptions): FeedSink {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    async deliver(event: LifecycleEvent) {
      const body = JSON.stringify(event);
      const timestamp = Math.floor(options.clock.now() / 1000);
      const response = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [signatureHeader]: signWebhook(options.secret, body, timestamp),
          'tollgate-event-id': event.id,
          'tollgate-timestamp': String(timestamp),
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Drain the body so the connection goes back to the pool.
      const text = await response.text().catch(() => '');
      if (!response.ok) throw new Error(`webhook ${options.url} answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
    },
    async close() {},
  };
}
