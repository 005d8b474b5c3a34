/**
 * Exponential backoff, the one formula of every retry in tollgate (the gate's conflict retries, effect handlers,
 * throwing job handlers, feed deliveries): `baseMs` before the first retry, doubling per attempt, at most `maxMs`,
 * scaled by a random factor between `jitter[0]` and `jitter[1]` so that work that failed together does not retry
 * together.
 *
 * @example
 * backoffMs(3, { baseMs: 1000, maxMs: 60_000, jitter: [0.75, 1] }); // 3,000 to 4,000 ms
 */
export function backoffMs(
  attempt: number,
  o: { readonly baseMs: number; readonly maxMs?: number; readonly jitter: readonly [number, number] },
  random: number = Math.random(),
): number {
  const ceiling = Math.min(o.baseMs * 2 ** (attempt - 1), o.maxMs ?? Number.POSITIVE_INFINITY);
  const [low, high] = o.jitter;
  return ceiling * (low + (high - low) * random);
}
