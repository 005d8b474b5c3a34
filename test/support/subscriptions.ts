import { ManualClock } from '../../src/clock.ts';
import { machines } from '../../machines/index.ts';
import { testRuntime, type Backend } from './databases.ts';

export const start = Date.parse('2026-01-01T00:00:00Z');
export const HOUR = 3600_000;
export const DAY = 24 * HOUR;

/** A migrated runtime with the shipped machines and a manual clock. */
export async function subscriptionRuntime(backend: Backend, options: { maxConnections?: number; snapshotCacheSize?: number; maxConflictRetries?: number } = {}) {
  const clock = new ManualClock(start);
  const tg = await testRuntime(backend, { machines, clock, ...options });
  return { tg, clock };
}

/** Creates a subscription and brings it to `active` through UPGRADE. */
export async function activeSubscription(tg: Awaited<ReturnType<typeof subscriptionRuntime>>['tg'], id: string) {
  await tg.create('subscription', id, { customerId: `cust-${id}`, plan: 'pro' });
  return tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm_1' });
}

/** The parts of an entity a rejected send must leave as they were. */
export async function footprint(tg: Awaited<ReturnType<typeof subscriptionRuntime>>['tg'], machine: 'subscription' | 'order' | 'payout', id: string) {
  const [entity, history, effects, timers] = await Promise.all([
    tg.get(machine, id),
    tg.history(machine, id, { limit: 1000 }),
    tg.effects(machine, id),
    tg.timers(machine, id),
  ]);
  return { entity, history, effects, timers };
}
