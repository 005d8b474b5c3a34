import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventObject } from 'xstate';
import { machines } from '../../machines/index.ts';
import { acceptedEventTypes } from '../../src/engine/accepted-events.ts';
import { evaluate, evaluateInitial } from '../../src/engine/evaluate.ts';
import { legalPairs } from '../../src/engine/legal-pairs.ts';
import { stateToString } from '../../src/engine/state-value.ts';
import { analyzeLog, type LoggedTransition } from '../../src/discover/analyze-log.ts';
import { repoRoot, runCli } from '../cli/support.ts';

// The legacy system's own names for the subscription machine's timers.
const timerNames: Record<string, string> = {
  'xstate.after.trialPeriod.subscription.trial': 'TRIAL_ENDED',
  'xstate.after.gracePeriod.subscription.grace': 'GRACE_ENDED',
};
const payloads: Record<string, Record<string, unknown>> = { UPGRADE: { paymentMethodId: 'pm' } };

/** A log of `n` subscriptions walked at random through the real machine (deterministic). */
function subscriptionLog(n: number): LoggedTransition[] {
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const machine = machines.subscription.machine;
  const rows: LoggedTransition[] = [];
  for (let i = 0; i < n; i++) {
    const id = `s${i}`;
    let at = Date.parse('2026-01-01T00:00:00Z') + i * 1000;
    let snapshot = evaluateInitial(machine, { customerId: id, plan: 'pro', ...(random() < 0.5 ? { paymentMethodId: 'pm' } : {}) }, { machine: 'subscription', entityId: id }).snapshot;
    rows.push({ entityId: id, from: null, to: stateToString(snapshot.value), at: new Date(at).toISOString() });
    for (let step = 0; step < 10 && snapshot.status === 'active'; step++) {
      const accepted = acceptedEventTypes(snapshot);
      const type = accepted[Math.floor(random() * accepted.length)]!;
      const decision = evaluate(machine, snapshot, { type, ...payloads[type] } as EventObject, { machine: 'subscription', entityId: id });
      if (decision.kind !== 'accepted') continue;
      at += Math.round(random() * 3 * 86_400_000);
      rows.push({ entityId: id, from: stateToString(snapshot.value), to: decision.state, event: timerNames[type] ?? type, at: new Date(at).toISOString() });
      snapshot = decision.snapshot;
    }
  }
  return rows;
}

describe('tollgate discover', () => {
  it("recovers the subscription machine's structure from a generated log, flags a legacy bug as rare, and writes a draft that passes test-paths", async () => {
    const rows = subscriptionLog(3000);
    // The legacy system's bug: two subscriptions reactivated from canceled without a payment.
    rows.push({ entityId: 's1', from: 'canceled', to: 'active', event: 'REACTIVATE', at: '2027-06-01T00:00:00Z' });
    const found = analyzeLog(rows);
    expect(found.initial).toBe('trial');
    // legalPairs lists moves between states (a self-transition such as RENEW is no move).
    const pairs = (list: ReadonlyArray<readonly [string, string]>) => [...new Set(list.filter(([a, b]) => a !== b).map(([a, b]) => `${a} -> ${b}`))].sort();
    expect(found.transitions.map((t) => `${t.from} -${t.event}-> ${t.to}`)).toContain('active -RENEW-> active');
    expect(pairs(found.transitions.filter((t) => t.event !== 'REACTIVATE').map((t) => [t.from, t.to] as const))).toEqual(pairs(legalPairs(machines.subscription.machine)));
    expect(found.rare.map((t) => `${t.from} -${t.event}-> ${t.to}`)).toEqual(['canceled -REACTIVATE-> active']);
    expect(found.outliers).toContainEqual({ entityId: 's1', reason: 'took the rare canceled -REACTIVATE-> active' });
    expect(found.dwell.grace!.p50).toBeGreaterThan(0);

    const dir = join(repoRoot, '.scratch', `discover-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      const log = join(dir, 'transitions.ndjson');
      writeFileSync(log, `${rows.filter((r) => r.event !== 'REACTIVATE').map((r) => JSON.stringify(r)).join('\n')}\n`);
      const out = await runCli(['discover', '--from', log, '--name', 'legacy_subscription', '--out', dir], { timeoutMs: 60_000 });
      expect(out).toMatchObject({ code: 0, stdout: expect.stringContaining('legacy_subscription: 6 states') });
      expect(readFileSync(join(dir, 'legacy_subscription.report.md'), 'utf8')).toContain('  grace --> canceled: GRACE_ENDED (');
      const draft = join(dir, 'legacy_subscription.ts');
      const paths = await runCli(['test-paths', 'legacy_subscription', '--machines', draft, '--paths', 'transitions'], { timeoutMs: 120_000 });
      expect(paths.stderr).toBe('');
      expect(paths.code).toBe(0);
      // The draft's edges are the machine's: every (from, to) pair it can take is one the subscription machine takes.
      const { machines: drafted } = (await import(draft)) as { machines: Record<string, { machine: typeof machines.subscription.machine }> };
      expect(pairs(legalPairs(drafted.legacy_subscription!.machine))).toEqual(pairs(legalPairs(machines.subscription.machine)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
