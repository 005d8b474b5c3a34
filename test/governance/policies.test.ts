import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import type { Policy } from '../../src/index.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { backends, postgresAvailable, testRuntime } from '../support/databases.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

// p1 forbids pausing; p2 allows everything.
const p1: Policy = { version: 'p1', check: ({ event }) => (event.type === 'PAUSE' ? { allow: false, reason: 'no pauses under p1' } : { allow: true }) };
const p2: Policy = { version: 'p2', check: () => ({ allow: true }) };

let schemas = 0;
const sharedSchema = () => `gov_pol_${process.pid}_${++schemas}`;

async function active(tg: Awaited<ReturnType<typeof testRuntime<typeof machines>>>, id: string) {
  await tg.create('subscription', id, { customerId: id, plan: 'pro' });
  await tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm' });
}

/**
 * Sends until the outcome is `expected` (a code, or `ok`); returns when (ms after the call) the last send that did
 * NOT see it started: the guarantee is that every send starting 1 s after the change sees it (0 if the first did).
 */
async function until(send: () => Promise<unknown>, expected: string, prepare: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  let lastMiss = 0;
  for (;;) {
    // The next attempt's entity is made before its clock starts: only the send is timed.
    await prepare();
    const started = performance.now();
    const outcome = await send().then(
      () => 'ok',
      (error: { code?: string }) => error.code ?? 'error',
    );
    if (outcome === expected) return lastMiss;
    lastMiss = started - t0;
    if (started - t0 > 5000) throw new Error(`still '${outcome}' after 5 s, expected '${expected}'`);
    await sleep(10);
  }
}

describe.runIf(postgresAvailable())('versioned policies shared by every process (postgres)', () => {
  it('starts on the newest version, and a switch made by one process reaches another within 1 s, NOTIFY or not', async () => {
    const schema = sharedSchema();
    const a = await testRuntime('postgres', { machines, schema, policies: { subscription: [p1, p2] } });
    const b = await testRuntime('postgres', { machines, schema, policies: { subscription: [p1, p2] } });
    await active(b, 's1');
    expect(await a.governance.policies('subscription')).toMatchObject([{ machine: 'subscription', active: 'p2', registered: ['p1', 'p2'] }]);

    // b has read the rules (its last send); the switch is made by a.
    const sw = await a.governance.activatePolicy('subscription', 'p1', { actor: 'alice', reason: 'incident 42: no pauses' });
    expect(sw).toMatchObject({ machine: 'subscription', from: 'p2', to: 'p1', actor: 'alice', reason: 'incident 42: no pauses' });
    // Each attempt pauses a fresh active subscription, so an attempt made before the switch arrived (a slow
    // machine) leaves the next attempt's entity untouched.
    let attempt = 0;
    const probe = () => `s1-${attempt}`;
    const viaNotify = await until(() => b.send('subscription', probe(), { type: 'PAUSE' }), 'TG_POLICY_DENIED', async () => {
      attempt++;
      await active(a, probe());
    });
    expect(viaNotify).toBeLessThan(1000);
    const [denied] = await b.rejections('subscription', probe());
    expect(denied).toMatchObject({ code: 'TG_POLICY_DENIED' });
    expect((await b.get('subscription', probe())).state).toBe('active');

    // A switch written without the NOTIFY (straight to the row) is still applied within 1 s: the read's age limit.
    await testAccess(a).client.query(`UPDATE ${quoteIdent(schema)}.active_policies SET version = 'p2' WHERE machine = 'subscription'`);
    const viaPoll = await until(() => b.send('subscription', probe(), { type: 'PAUSE' }), 'ok', async () => {
      attempt++;
      await active(a, probe());
    });
    expect(viaPoll).toBeLessThan(1000);
    const pause = (await b.history('subscription', probe())).at(-1);
    expect(pause).toMatchObject({ eventType: 'PAUSE', policyVersion: 'p2' });

    // Every switch is recorded: who, when, why, from, to; rolling back is one call.
    await b.governance.activatePolicy('subscription', 'p1', { actor: 'bob', reason: 'roll back to known-good' });
    const switches = await a.governance.policySwitches('subscription');
    expect(switches.map((s) => [s.from, s.to, s.actor])).toEqual([
      ['p2', 'p1', 'bob'],
      ['p2', 'p1', 'alice'],
      [null, 'p2', 'tollgate (first registered)'],
    ]);
    expect(switches[0]?.at).toMatch(/^\d{4}-/);

    // A process that does not register the active version refuses the machine's events retryably.
    const old = await testRuntime('postgres', { machines, schema, policies: { subscription: [p2] } });
    await expect(old.send('subscription', 's1', { type: 'RESUME' })).rejects.toMatchObject({
      code: 'TG_POLICY_UNAVAILABLE',
      retryable: true,
      status: 503,
      details: { reason: 'unknown-version', policyVersion: 'p1' },
    });
    // Activating a version this process does not register is refused.
    await expect(old.governance.activatePolicy('subscription', 'p9', { actor: 'x', reason: 'y' })).rejects.toMatchObject({ code: 'TG_INVALID_ARGUMENT' });
  });

  it('survive a restart: a runtime started after the switch and the freeze applies both', async () => {
    const schema = sharedSchema();
    const before = await testRuntime('postgres', { machines, schema, policies: { subscription: [p1, p2] } });
    await active(before, 'r1');
    await active(before, 'r2');
    await before.governance.activatePolicy('subscription', 'p1', { actor: 'alice', reason: 'incident 43' });
    const freeze = await before.governance.freeze({ machine: 'subscription', events: ['CANCEL'], reason: 'incident 43', actor: 'alice' });
    await before.close();

    const after = await testRuntime('postgres', { machines, schema, policies: { subscription: [p1, p2] } });
    await expect(after.send('subscription', 'r1', { type: 'PAUSE' })).rejects.toMatchObject({ code: 'TG_POLICY_DENIED' });
    await expect(after.send('subscription', 'r2', { type: 'CANCEL' })).rejects.toMatchObject({ code: 'TG_FROZEN', details: { freezeId: freeze.id } });
    expect(await after.governance.policies('subscription')).toMatchObject([{ active: 'p1', reason: 'incident 43' }]);
  });
});

describe.each(backends())('policy checks on %s', (backend) => {
  it('a policy that throws or outlives its timeout refuses retryably, records the rejection and writes nothing else', async () => {
    let mode: 'throw' | 'hang' | 'allow' = 'throw';
    const flaky: Policy = {
      version: 'remote-1',
      check: async () => {
        if (mode === 'throw') throw new Error('rules service: connection refused');
        if (mode === 'hang') await sleep(2000);
        return { allow: true };
      },
    };
    const tg = await testRuntime(backend, { machines, policies: { subscription: [flaky] }, policyTimeoutMs: 100 });
    await tg.create('subscription', 'f1', { customerId: 'f1', plan: 'pro' });
    for (const m of ['throw', 'hang'] as const) {
      mode = m;
      await expect(tg.send('subscription', 'f1', { type: 'UPGRADE', paymentMethodId: 'pm' })).rejects.toMatchObject({
        code: 'TG_POLICY_UNAVAILABLE',
        status: 503,
        retryable: true,
        details: { reason: 'check-failed', policyVersion: 'remote-1' },
      });
    }
    const entity = await tg.get('subscription', 'f1');
    expect(entity).toMatchObject({ state: 'trial', version: 1 });
    expect(await tg.effects('subscription', 'f1')).toEqual([]);
    expect((await tg.rejections('subscription', 'f1')).map((r) => r.code)).toEqual(['TG_POLICY_UNAVAILABLE', 'TG_POLICY_UNAVAILABLE']);
    expect(await tg.metricsText()).toMatch(/tollgate_rejections_total\{machine="subscription",state="trial",event="UPGRADE",code="TG_POLICY_UNAVAILABLE"\} 2/);
    mode = 'allow';
    const sent = await tg.send('subscription', 'f1', { type: 'UPGRADE', paymentMethodId: 'pm' });
    expect(sent.transition.policyVersion).toBe('remote-1');
  });

  it('keeps the single createTollgate({ policy }) working for machines without versions', async () => {
    const tg = await testRuntime(backend, { machines, policy: p1 });
    await active(tg, 'l1');
    await expect(tg.send('subscription', 'l1', { type: 'PAUSE' })).rejects.toMatchObject({ code: 'TG_POLICY_DENIED', details: { reason: 'no pauses under p1' } });
    expect((await tg.history('subscription', 'l1')).at(-1)?.policyVersion).toBe('p1');
  });
});
