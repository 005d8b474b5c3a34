/**
 * The soak's pass criterion: after a warm-up, each watched series' second half may not sit above its first half by
 * more than its allowance. Halves are compared by their medians, not by a least-squares slope: V8's heap and
 * Postgres's buffers grow in steps and a GC or a checkpoint makes single-minute spikes, which swing a slope fitted to
 * a dozen points but not a median; and "the last half sits within X MB of the first" is a figure an operator reads
 * straight off the table. A slow leak too small to show in 30 minutes is missed either way.
 */

/** One watched series: a value per minute, and how far its second half may sit above the first. */
export interface Series {
  readonly name: string;
  readonly unit: string;
  readonly values: readonly number[];
  /** Allowed rise of the second half's median: the larger of `absolute` (in `unit`) and `relative` of the first half's median. */
  readonly absolute: number;
  readonly relative: number;
  /** 'rise' (the default): the second half may not rise above the allowance; 'fall': it may not fall below it (a rate). */
  readonly direction?: 'rise' | 'fall';
}

export interface Verdict {
  readonly name: string;
  readonly ok: boolean;
  /** The figures behind the verdict, for the report. */
  readonly figure: string;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Minutes of warm-up left out of the comparison: a fifth of the run, at least two minutes. */
export function warmupMinutes(minutes: number): number {
  return Math.max(2, Math.ceil(minutes / 5));
}

/**
 * Judges each series on the minutes after `warmup`; undefined when fewer than four minutes remain (two a half),
 * too few to call anything flat or rising.
 */
export function judge(series: readonly Series[], warmup: number): Verdict[] | undefined {
  const kept = (series[0]?.values.length ?? 0) - warmup;
  if (kept < 4) return undefined;
  return series.map((s) => {
    const rest = s.values.slice(warmup);
    const half = rest.length >> 1;
    // An odd count leaves the middle minute out: both halves are the same length.
    const first = median(rest.slice(0, half));
    const second = median(rest.slice(rest.length - half));
    const allowance = Math.max(s.absolute, s.relative * Math.abs(first));
    const fall = s.direction === 'fall';
    const ok = fall ? second >= first - allowance : second <= first + allowance;
    const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
    return {
      name: s.name,
      ok,
      figure: `first half ${fmt(first)} ${s.unit}, second half ${fmt(second)} ${s.unit} (${fall ? 'may fall' : 'may rise'} ${fmt(allowance)} ${s.unit})`,
    };
  });
}
