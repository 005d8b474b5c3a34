import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dwellLimits } from '../../src/observe/entity-gauges.ts';
import { backends } from '../support/databases.ts';
import { DAY, HOUR, activeSubscription, subscriptionRuntime } from '../support/subscriptions.ts';
import { portsOf } from '../../src/runtime/ports.ts';

describe('dwell limits', () => {
  it("come from the states' meta.maxDwell as leaf-path prefixes", async () => {
    const { machines } = await import('../../machines/index.ts');
    const limits = dwellLimits(new Map(Object.entries(machines)));
    expect(limits).toContainEqual({ machine: 'subscription', state: 'paused.resuming', maxDwellMs: HOUR });
    expect(limits.every((l) => l.maxDwellMs > 0)).toBe(true);
  });
});

describe.each(backends())('entity gauges on %s', (backend) => {
  it('count entities per state and the ones stuck past maxDwell, with the injected clock', async () => {
    const { tg, clock } = await subscriptionRuntime(backend);
    await activeSubscription(tg, 'a');
    await activeSubscription(tg, 'b');
    await tg.send('subscription', 'b', { type: 'PAUSE' });
    await tg.send('subscription', 'b', { type: 'RESUME' }); // paused.resuming, maxDwell 1 hour
    await tg.create('subscription', 'c', { customerId: 'c', plan: 'pro' });

    let text = await tg.metricsText();
    expect(text).toMatch(/tollgate_entities\{machine="subscription",state="active"\} 1/);
    expect(text).toMatch(/tollgate_entities\{machine="subscription",state="paused.resuming"\} 1/);
    expect(text).toMatch(/tollgate_stuck_entities\{machine="subscription",state="paused.resuming"\} 0/);

    clock.advance(2 * HOUR);
    text = await tg.metricsText();
    expect(text).toMatch(/tollgate_stuck_entities\{machine="subscription",state="paused.resuming"\} 1/);
    expect(text).toMatch(/tollgate_stuck_oldest_seconds\{machine="subscription",state="paused.resuming"\} 3600/);
    expect(text).toMatch(/tollgate_stuck_entities\{machine="subscription",state="trial"\} 0/);

    clock.advance(15 * DAY); // past the trial's limit too
    text = await tg.metricsText();
    expect(text).toMatch(/tollgate_stuck_entities\{machine="subscription",state="trial"\} 1/);
  });
});

describe('alert rules', () => {
  it('name only metrics tollgate exports', async () => {
    const rules = readFileSync(new URL('../../ops/prometheus-alerts.yml', import.meta.url), 'utf8');
    const { tg } = await subscriptionRuntime(backends()[0] ?? 'pglite');
    portsOf(tg).jobMetrics(); // the workers' metrics, as startProcesses registers them
    portsOf(tg).feedMetrics(); // the lifecycle feed's, likewise
    const exported = new Set([...(await tg.metricsText()).matchAll(/^# TYPE (\w+)/gm)].map((m) => m[1]));
    const named = [...rules.matchAll(/\b(tollgate_[a-z0-9_]+)/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(3);
    for (const name of named) expect(exported, name).toContain(name);
  });
});
