import { describe, expect, it } from 'vitest';
import { judge, median, warmupMinutes, type Series } from '../../bench/soak/flatness.ts';

// The soak's pass criterion (bench/soak/flatness.ts): halves after the warm-up compared by their medians.
const series = (values: number[], over: Partial<Series> = {}): Series => ({ name: 's', unit: 'MB', values, absolute: 32, relative: 0.15, ...over });

describe('soak flatness', () => {
  it('takes a fifth of the run as warm-up, at least two minutes', () => {
    expect(warmupMinutes(1)).toBe(2);
    expect(warmupMinutes(30)).toBe(6);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('passes a series that stays within its allowance and ignores the warm-up and one spike', () => {
    // Warm-up climbs from 50 to 150; then flat around 160 with a GC spike to 400 in the second half.
    const values = [50, 150, 160, 158, 162, 161, 159, 400, 163, 160];
    expect(judge([series(values)], 2)).toEqual([expect.objectContaining({ ok: true })]);
  });

  it('fails a series whose second half sits above the first by more than the allowance', () => {
    // A leak of 10 MB a minute: 40 MB between the halves' medians, over max(32 MB, 15% of 100).
    const values = [0, 0, 100, 110, 120, 130, 140, 150, 160, 170];
    const [verdict] = judge([series(values)], 2) ?? [];
    expect(verdict?.ok).toBe(false);
    expect(verdict?.figure).toContain('first half 115 MB, second half 155 MB');
  });

  it('judges a rate by its fall, and nothing when too few minutes remain', () => {
    expect(judge([series([0, 0, 300, 300, 250, 250], { direction: 'fall', absolute: 5, relative: 0.1 })], 2)?.[0]?.ok).toBe(false);
    expect(judge([series([0, 0, 300, 300, 290, 295], { direction: 'fall', absolute: 5, relative: 0.1 })], 2)?.[0]?.ok).toBe(true);
    expect(judge([series([1, 2, 3, 4, 5])], 2)).toBeUndefined();
  });
});
