/**
 * Retry rules as error types (Restate's TerminalError / RetryableError, BullMQ's UnrecoverableError): an effect
 * handler throws one of these, and the worker decides retry vs. failure from the class alone. Any other error is
 * retryable.
 */

/** The effect may succeed if tried again later (a timeout, a 503, a rate limit). */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
  /** Wait at least this long before the next attempt (e.g. a provider's Retry-After). Default: the backoff. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * The effect will never succeed (a declined card, an invalid address): no more attempts. The effect is marked
 * failed and the machine's compensation event for that effect type, if it declares one, is sent.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
  }
}

/** A JSON-safe description of what a handler threw, stored in the effect row. */
export function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message.slice(0, 2000) };
  return { name: typeof error, message: String(error).slice(0, 2000) };
}
