import { describe, expect, it } from 'vitest';
import { batcher } from '../../src/store/batcher.ts';

/** A batch function whose calls the test releases one at a time. */
function controlled() {
  const batches: number[][] = [];
  const releases: Array<() => void> = [];
  const run = (keys: number[]) => {
    batches.push(keys);
    return new Promise<number[]>((resolve) => releases.push(() => resolve(keys.map((k) => k * 10))));
  };
  const releaseNext = async () => {
    while (releases.length === 0) await new Promise((r) => setImmediate(r));
    releases.shift()?.();
  };
  return { batches, run, releaseNext };
}

describe('batcher', () => {
  it('runs the calls of one turn as one batch, and the calls made while it is in flight as the next', async () => {
    const c = controlled();
    const load = batcher(c.run);
    const first = [1, 2, 3].map((k) => load(k));
    await new Promise((r) => setImmediate(r));
    const second = [4, 5].map((k) => load(k)); // the first batch is in flight: these wait and go together
    await new Promise((r) => setImmediate(r));
    expect(c.batches).toEqual([[1, 2, 3]]);
    await c.releaseNext();
    expect(await Promise.all(first)).toEqual([10, 20, 30]);
    await c.releaseNext();
    expect(await Promise.all(second)).toEqual([40, 50]);
    expect(c.batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('splits at the batch size and rejects every call of a batch that failed, and only those', async () => {
    let n = 0;
    const load = batcher(async (keys: number[]) => {
      if (n++ === 0) throw new Error('database down');
      return keys;
    }, 2);
    const results = await Promise.allSettled([1, 2, 3].map((k) => load(k)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
  });
});
