import type { Clock } from '../clock.ts';
import { TollgateError } from '../errors.ts';

/** Per-caller request rate limit (a token bucket per API key, or per client address on an open server). */
export interface RateLimitOptions {
  /** Sustained requests per second per caller. */
  readonly perSecond: number;
  /** Requests a caller may send at once after being idle. Default: `perSecond`. */
  readonly burst?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Returns `take(caller)`, which spends one token or throws TG_RATE_LIMITED with the seconds to wait. The state is
 * in this process: with several API processes each enforces the limit on its own share of the traffic.
 */
export function createRateLimiter(options: RateLimitOptions, clock: Clock): (caller: string) => void {
  const burst = options.burst ?? options.perSecond;
  const buckets = new Map<string, Bucket>();
  return (caller) => {
    const now = clock.now();
    const bucket = buckets.get(caller) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * options.perSecond);
    bucket.at = now;
    buckets.set(caller, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / options.perSecond));
    throw new TollgateError(
      'TG_RATE_LIMITED',
      `Too many requests from '${caller}': the limit is ${options.perSecond} per second (burst ${burst}). Retry in ${retryAfter} s.`,
      { retryAfter },
    );
  };
}
