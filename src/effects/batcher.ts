/**
 * Group commit for the worker's two statements: calls made in one turn of the event loop, or while the
 * connections it may use (`maxInFlight`) are busy, run together as one batch, one round trip for all of them.
 * Idle, a call costs one round trip as before; under load the batch grows instead of the queue of round trips.
 *
 * @example
 * const load = batcher(async (ids: string[]) => rowsInOrder(ids));
 * const row = await load('abc-e0');
 */
export function batcher<K, V>(run: (keys: K[]) => Promise<V[]>, maxBatch = 200, maxInFlight = 4): (key: K) => Promise<V> {
  let waiting: Array<{ key: K; resolve: (v: V) => void; reject: (e: unknown) => void }> = [];
  let inFlight = 0;
  const flush = () => {
    if (inFlight >= maxInFlight || waiting.length === 0) return;
    const batch = waiting.slice(0, maxBatch);
    waiting = waiting.slice(batch.length);
    inFlight++;
    run(batch.map((b) => b.key)).then(
      (values) => batch.forEach((b, i) => b.resolve(values[i] as V)),
      (error: unknown) => batch.forEach((b) => b.reject(error)),
    ).finally(() => {
      inFlight--;
      flush();
    });
  };
  return (key) =>
    new Promise<V>((resolve, reject) => {
      waiting.push({ key, resolve, reject });
      // Let the calls of this turn of the event loop join the batch before it leaves.
      if (waiting.length === 1) setImmediate(flush);
    });
}
