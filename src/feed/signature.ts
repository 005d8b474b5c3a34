import { createHmac, timingSafeEqual } from 'node:crypto';
import { systemClock } from '../clock.ts';

/** The header that carries a webhook's signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const signatureHeader = 'tollgate-signature';

/**
 * The signature header value for `body` sent at `timestampSeconds`: HMAC-SHA256 with the consumer's secret over
 * `<timestamp>.<body>`, hex. The timestamp is signed too, so a captured request cannot be replayed later.
 */
export function signWebhook(secret: string, body: string, timestampSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

/** Options of {@link verifyWebhookSignature}. */
export interface VerifyWebhookOptions {
  /** The consumer's secret (`consumers add --secret`). */
  readonly secret: string;
  /** The `Tollgate-Signature` header as received. */
  readonly header: string | undefined;
  /** The raw request body, exactly as received (before any JSON parsing). */
  readonly body: string;
  /** Refuse signatures older (or newer) than this. Default 300 s. */
  readonly toleranceSeconds?: number;
  /** Now, in ms since the epoch. Default: the wall clock. */
  readonly now?: number;
}

/**
 * Whether a webhook request came from tollgate: the signature matches the body and the timestamp is recent.
 *
 * @example
 * if (!verifyWebhookSignature({ secret, header: req.headers['tollgate-signature'], body: rawBody })) return reply(401);
 */
export function verifyWebhookSignature(options: VerifyWebhookOptions): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(options.header ?? '');
  if (!match) return false;
  const timestamp = Number(match[1]);
  const now = options.now ?? systemClock.now();
  if (Math.abs(now / 1000 - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(options.secret, options.body, timestamp).slice(-64), 'hex');
  return timingSafeEqual(expected, Buffer.from(match[2] as string, 'hex'));
}
