import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/demo/run-demo.ts';

describe('the traffic demo (tollgate demo)', () => {
  it('drives subscriptions with duplicates, races and the seed bugs, and nothing drifts', async () => {
    const lines: string[] = [];
    const summary = await runDemo({ subscriptions: 24, database: { dataDir: 'memory://' }, progress: false, print: (l) => lines.push(l) });
    expect(summary.ok).toBe(true);
    // Every subscription ends canceled with exactly one cancellation email, however many cancels were attempted.
    expect(summary.cancellationEmails).toBe(24);
    expect(summary.doubleCharges).toBe(0);
    expect(summary.replays).toBeGreaterThanOrEqual(24 * 5);
    expect(summary.rejected.TG_ILLEGAL_TRANSITION).toBeGreaterThan(0);
    expect(lines.join('\n')).toContain('integrity: OK');
  }, 60_000);
});
