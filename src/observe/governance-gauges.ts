import { Gauge, type Registry } from 'prom-client';
import { activeFreezes } from '../policy/freezes.ts';
import type { GovernanceRows } from '../store/governance-store.ts';

/**
 * Gauges of what every process applies now, read when metrics are scraped: active freezes per machine, and the
 * active policy version per machine (an info gauge, 1 for the active version).
 */
export function governanceGauges(registry: Registry, machines: readonly string[], rows: () => Promise<GovernanceRows>, now: () => number) {
  const freezes = new Gauge({
    name: 'tollgate_active_freezes',
    help: 'Freezes in force, by machine.',
    labelNames: ['machine'] as const,
    registers: [registry],
  });
  const policy = new Gauge({
    name: 'tollgate_active_policy',
    help: 'The active policy version of each machine (value 1).',
    labelNames: ['machine', 'version'] as const,
    registers: [registry],
  });
  return async function refresh(): Promise<void> {
    const current = await rows();
    const active = activeFreezes(current.freezes, now());
    freezes.reset();
    for (const machine of machines) freezes.set({ machine }, active.filter((f) => f.machine === machine).length);
    policy.reset();
    for (const [machine, version] of current.policies) policy.set({ machine, version }, 1);
  };
}
