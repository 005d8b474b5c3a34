import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { Tollgate } from '../../src/runtime/create-tollgate.ts';
import type { MachineRegistry } from '../../src/engine/definition.ts';
import type { VersionStats } from '../../src/runtime/version-stats.ts';
import { machines } from '../../machines/index.ts';
import { machines as release2 } from '../../examples/evolution/machines-v2.ts';
import { backends, type Backend } from '../support/databases.ts';
import { cliDatabase, releaseDatabase } from '../support/evolution.ts';
import { start } from '../support/subscriptions.ts';
import { bearer, expectProblem, keys, testApi } from '../http/support.ts';
import { runCli } from '../cli/support.ts';

type Release = Tollgate<MachineRegistry>;
const send = (tg: Release, id: string, event: { type: string } & Record<string, unknown>) => tg.send('subscription', id, event);

/**
 * Release 1 served 8 subscriptions, 4 of them dunned into grace; the canary (release 2) served 8 that all upgraded
 * and none failed a payment: it never exercised dunning.
 */
async function canary(open: (machines: MachineRegistry) => Promise<Release>): Promise<Release> {
  const v1 = await open(machines);
  for (let i = 0; i < 8; i++) {
    await v1.create('subscription', `old-${i}`, { customerId: `c${i}`, plan: 'pro' });
    await send(v1, `old-${i}`, { type: 'UPGRADE', paymentMethodId: 'pm' });
    if (i < 4) await send(v1, `old-${i}`, { type: 'PAYMENT_FAILED' });
  }
  const v2 = await open(release2);
  for (let i = 0; i < 8; i++) {
    await v2.create('subscription', `new-${i}`, { customerId: `n${i}`, plan: 'pro' });
    await send(v2, `new-${i}`, { type: 'UPGRADE', paymentMethodId: 'pm' });
  }
  return v2;
}

const row = (stats: VersionStats, state: string, event: string) => stats.transitions.find((t) => t.state === state && t.event === event);

describe.each(backends())('stats by machine version on %s', (backend: Backend) => {
  let db: Awaited<ReturnType<typeof releaseDatabase>>;
  let v2: Release;
  beforeAll(async () => {
    db = await releaseDatabase(backend);
    const clock = new ManualClock(start);
    v2 = await canary((registry) => db.open(registry, clock) as Promise<Release>);
  }, 120_000);
  afterAll(() => db.close());

  it('shares per version of (state, event) and of states, flagging the dunning the canary never saw', async () => {
    const stats = await v2.versionStats('subscription');
    expect(stats.versions).toEqual([
      { version: 1, transitions: 20, entities: 8 },
      { version: 2, transitions: 16, entities: 8 },
    ]);
    expect(row(stats, 'active', 'PAYMENT_FAILED')).toEqual({
      state: 'active',
      event: 'PAYMENT_FAILED',
      shares: [{ version: 1, count: 4, share: 0.2 }, { version: 2, count: 0, share: 0 }],
      difference: 0.2,
      flagged: true,
    });
    expect(row(stats, 'trial', 'UPGRADE')).toMatchObject({ shares: [{ share: 0.4 }, { share: 0.5 }], difference: 0.1, flagged: true });
    expect(stats.transitions[0]).toMatchObject({ state: 'active', event: 'PAYMENT_FAILED' }); // largest difference first
    expect(stats.states.find((s) => s.state === 'grace')).toMatchObject({ shares: [{ version: 1, count: 4, share: 0.5 }, { version: 2, count: 0, share: 0 }], flagged: true });

    const lenient = await v2.versionStats('subscription', { threshold: 0.15 });
    expect(row(lenient, 'trial', 'UPGRADE')!.flagged).toBe(false);
    expect(row(lenient, 'active', 'PAYMENT_FAILED')!.flagged).toBe(true);
    const later = await v2.versionStats('subscription', { since: new Date(start + 1) });
    expect(later.versions.every((v) => v.transitions === 0)).toBe(true);
    await expect(v2.versionStats('nope' as 'subscription')).rejects.toMatchObject({ code: 'TG_UNKNOWN_MACHINE' });
  });

  it('GET /v1/machines/{machine}/stats?byVersion=true answers the comparison; bad parameters are TG_INVALID_ARGUMENT', async () => {
    const { app } = await testApi(backend, {}, v2 as unknown as Parameters<typeof testApi>[2]);
    const headers = bearer(keys.read);
    const plain = await app.inject({ method: 'GET', url: '/v1/machines/subscription/stats', headers });
    expect(plain.statusCode).toBe(200);
    expect(plain.json()).not.toHaveProperty('byVersion');
    const compared = await app.inject({ method: 'GET', url: '/v1/machines/subscription/stats?byVersion=true&threshold=0.15', headers });
    expect(compared.statusCode).toBe(200);
    const body = compared.json() as { entities: number; byVersion: VersionStats };
    expect(body.entities).toBe(16);
    expect(body.byVersion).toMatchObject({ machine: 'subscription', threshold: 0.15, since: null });
    expect(row(body.byVersion, 'active', 'PAYMENT_FAILED')!.flagged).toBe(true);
    for (const url of ['?byVersion=true&threshold=2', '?byVersion=yes', '?byVersion=true&since=yesterday', '?byversion=true']) {
      expectProblem(await app.inject({ method: 'GET', url: `/v1/machines/subscription/stats${url}`, headers }), 'TG_INVALID_ARGUMENT');
    }
  });
});

describe.each(backends())('tollgate stats --by-version (the real CLI) on %s', (backend: Backend) => {
  let target: string[];
  let remove: () => void;
  beforeAll(async () => {
    ({ args: target, remove } = await cliDatabase(backend, async (tg) => {
      for (let i = 0; i < 3; i++) {
        await tg.create('subscription', `s${i}`, { customerId: `c${i}`, plan: 'pro' });
        await send(tg, `s${i}`, { type: 'UPGRADE', paymentMethodId: 'pm' });
      }
    }));
  }, 120_000);
  afterAll(() => remove());

  it('prints the comparison (one version: nothing to compare), JSON, and refuses bad input', async () => {
    const table = await runCli(['stats', 'subscription', '--by-version', ...target], { timeoutMs: 60_000 });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/subscription: v1 6 transitions, 3 entities/);
    expect(table.stdout).toMatch(/trial UPGRADE\s+50\.0% \(3\)/);
    expect(table.stdout).toContain('only one version has traffic: nothing to compare.');
    const json = await runCli(['stats', 'subscription', '--by-version', '--json', '--threshold', '0.1', ...target], { timeoutMs: 60_000 });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ machine: 'subscription', entities: 3, byVersion: { threshold: 0.1, versions: [{ version: 1, transitions: 6, entities: 3 }] } });
    const [threshold, alone] = await Promise.all([
      runCli(['stats', 'subscription', '--by-version', '--threshold', 'high', ...target], { timeoutMs: 60_000 }),
      runCli(['stats', 'subscription', '--since', '7d', ...target], { timeoutMs: 60_000 }),
    ]);
    expect(threshold).toMatchObject({ code: 2, stderr: expect.stringMatching(/--threshold must be a number from 0 to 1/) });
    expect(alone).toMatchObject({ code: 2, stderr: expect.stringMatching(/go with --by-version/) });
    // Alone: it opens the database, and an embedded data directory takes one process at a time.
    const unknown = await runCli(['stats', 'nope', '--by-version', ...target], { timeoutMs: 60_000 });
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringMatching(/TG_UNKNOWN_MACHINE/) });
  }, 120_000);
});
