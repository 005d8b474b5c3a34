import { describe, expect, it } from 'vitest';
import { machines } from '../machines/index.ts';
import { runDemo } from '../src/demo/run-demo.ts';
import { runtimeTarget } from '../src/demo/target.ts';
import { createTollgate } from '../src/index.ts';

describe('the traffic demo (tollgate demo)', () => {
  it('drives subscriptions with duplicates, races and the seed bugs, and nothing drifts', async () => {
    const lines: string[] = [];
    const summary = await runDemo({ machines, subscriptions: 24, database: { dataDir: 'memory://' }, progress: false, print: (l) => lines.push(l) });
    expect(summary.ok).toBe(true);
    // Every subscription ends canceled with exactly one cancellation email, however many cancels were attempted.
    expect(summary.cancellationEmails).toBe(24);
    expect(summary.doubleCharges).toBe(0);
    expect(summary.replays).toBeGreaterThanOrEqual(24 * 5);
    expect(summary.rejected.TG_ILLEGAL_TRANSITION).toBeGreaterThan(0);
    expect(lines.join('\n')).toContain('integrity: OK');
  }, 60_000);

  it('fails the integrity check when the data shows a drift (a charge twice for one request, a charge from grace)', async () => {
    const tg = await createTollgate({ machines, database: { dataDir: 'memory://' } });
    try {
      await tg.migrate();
      const honest = runtimeTarget(tg, 'embedded PGlite');
      // The data as a drifting system would have written it: every charge recorded twice, and marked as from grace.
      const drifted = {
        ...honest,
        effects: async (id: string) => (await honest.effects(id)).flatMap((e) => (e.type === 'chargePayment' ? [e, e] : [e])),
        history: async (id: string) => (await honest.history(id)).map((t) => (t.eventType === 'RENEW' ? { ...t, fromState: 'grace' } : t)),
      };
      const lines: string[] = [];
      const summary = await runDemo({ subscriptions: 6, target: drifted, progress: false, print: (l) => lines.push(l) });
      expect(summary.ok).toBe(false);
      expect(summary.doubleCharges).toBeGreaterThan(0);
      expect(summary.graceCharged).toBeGreaterThan(0);
      expect(lines.join('\n')).toContain('integrity: FAILED');
    } finally {
      await tg.close();
    }
  }, 60_000);
});
