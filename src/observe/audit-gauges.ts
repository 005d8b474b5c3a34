import { Gauge, type Registry } from 'prom-client';

/**
 * `tollgate_audit_drift_entities{machine,kind}`: the entities with drift of each kind found by the last
 * `tollgate audit` of each machine (zeros included), read from `audit_drift` when metrics are scraped, so every
 * process shows the last run wherever it ran. No series before the first run.
 */
export function auditGauges(registry: Registry, rows: () => Promise<ReadonlyArray<{ machine: string; kind: string; entities: number }>>) {
  const gauge = new Gauge({
    name: 'tollgate_audit_drift_entities',
    help: 'Entities with drift of each kind found by the last tollgate audit of the machine.',
    labelNames: ['machine', 'kind'] as const,
    registers: [registry],
  });
  return async function refresh(): Promise<void> {
    const current = await rows();
    gauge.reset();
    for (const row of current) gauge.set({ machine: row.machine, kind: row.kind }, Number(row.entities));
  };
}
