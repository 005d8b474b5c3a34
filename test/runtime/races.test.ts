import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import { describe, expect, it } from 'vitest';
import { isTollgateError } from '../../src/index.ts';
import { subscriptionMachine } from '../../machines/subscription.ts';
import { backends } from '../support/databases.ts';
import { activeSubscription, subscriptionRuntime } from '../support/subscriptions.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

const mixed = [
  { type: 'RENEW' },
  { type: 'PAYMENT_SUCCEEDED', chargeId: 'ch' },
  { type: 'PAUSE' },
  { type: 'RESUME' },
  { type: 'PAYMENT_FAILED' },
  { type: 'RENEW' },
  { type: 'PAYMENT_SUCCEEDED' },
  { type: 'CANCEL' },
] as const;

describe.each(backends())('concurrent writers on %s', (backend) => {
  it('50 concurrent mixed sends: each commits or fails coded; history gapless; replaying it gives the stored snapshot', async () => {
    const { tg } = await subscriptionRuntime(backend, { maxConnections: 16 });
    await activeSubscription(tg, 'race');
    // One rare event (CANCEL) would end the race early; keep it to the last few sends.
    const events = Array.from({ length: 50 }, (_, i) => (i < 45 ? mixed[i % 7] : mixed[i % 8]) as (typeof mixed)[number]);

    const outcomes = await Promise.allSettled(events.map((event) => tg.send('subscription', 'race', event)));

    const committed = outcomes.filter((o) => o.status === 'fulfilled');
    for (const o of outcomes) {
      if (o.status === 'rejected') {
        expect(isTollgateError(o.reason), String(o.reason)).toBe(true);
        expect(['TG_ILLEGAL_TRANSITION', 'TG_VERSION_CONFLICT', 'TG_GUARD_REJECTED']).toContain((o.reason as { code: string }).code);
      }
    }
    expect(committed.length).toBeGreaterThan(1);
    if (backend === 'postgres') {
      // All 50 start from the same cached version: the race really happened and was resolved by retries.
      expect(await tg.metricsText()).toMatch(/tollgate_conflict_retries_total\{[^}]*\} [1-9]/);
    }

    const entity = await tg.get('subscription', 'race');
    const history = await tg.history('subscription', 'race', { limit: 1000 });
    expect(history.map((t) => t.seq)).toEqual(Array.from({ length: history.length }, (_, i) => i + 1));
    expect(entity.version).toBe(history.length);
    expect(history.length).toBe(2 + committed.length);
    const versions = committed.map((o) => (o as PromiseFulfilledResult<{ entity: { version: number } }>).value.entity.version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: committed.length }, (_, i) => i + 3));

    // Replay the recorded events through the pure machine: it must land exactly where the database says.
    const [init] = history;
    let snapshot: AnyMachineSnapshot = initialTransition(subscriptionMachine, (init?.event as { input: never }).input)[0];
    for (const t of history.slice(1)) {
      expect(snapshot.can(t.event as never), `seq ${t.seq} ${t.eventType} from ${JSON.stringify(snapshot.value)}`).toBe(true);
      snapshot = transition(subscriptionMachine, snapshot, t.event as never)[0];
    }
    expect(snapshot.value).toEqual(entity.value);
    expect(snapshot.context).toEqual(entity.context);

    const effects = await tg.effects('subscription', 'race');
    expect(new Set(effects.map((e) => e.transitionId)).size).toBeLessThanOrEqual(history.length);
    expect(effects.every((e) => history.some((t) => t.id === e.transitionId))).toBe(true);
  });

  it('two runtimes on one database (two processes\' worth of caches) never lose an update', async () => {
    if (backend === 'pglite') return; // PGlite is one connection in one process: nothing to race.
    const { tg: a } = await subscriptionRuntime(backend);
    await activeSubscription(a, 'shared');
    const { testRuntime } = await import('../support/databases.ts');
    const { machines } = await import('../../machines/index.ts');
    const b = await testRuntime(backend, { machines, schema: testAccess(a).schema });
    await b.get('subscription', 'shared'); // warm b's cache
    for (let i = 0; i < 10; i++) {
      await a.send('subscription', 'shared', { type: 'PAYMENT_SUCCEEDED' });
      await b.send('subscription', 'shared', { type: 'PAYMENT_SUCCEEDED' }); // b's cache is always one behind
    }
    const entity = await a.get('subscription', 'shared');
    expect(entity.context.payments).toBe(20);
    expect(entity.version).toBe(22);
  });
});
