import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { runCli } from '../cli/support.ts';
import { postgresAvailable, testDatabaseUrl, testRuntime } from '../support/databases.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

describe.runIf(postgresAvailable())('tollgate audit (the command)', () => {
  it('exits 0 on clean data, 1 naming the entity and the kind after a planted effect row or an illegal override; --json for tools; progress on stderr', async () => {
    const tg = await testRuntime('postgres', { machines });
    const url = await testDatabaseUrl();
    const flags = ['--database-url', url, '--schema', testAccess(tg).schema, '--machines', 'machines/index.ts'];
    for (const id of ['s1', 's2']) {
      await tg.create('subscription', id, { customerId: id, plan: 'pro' });
      await tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm_1' });
    }

    const clean = await runCli(['audit', ...flags]);
    expect(clean.stderr).toContain('[##############################] 2/2\n'); // the progress, a line per 10% off a terminal
    expect(clean).toMatchObject({ code: 0, stdout: expect.stringMatching(/^audited 2 entities \(4 transitions replayed\) in [\d.]+ s.*; 0 unchanged since their checkpoint\nno drift\n$/) });

    const s = quoteIdent(testAccess(tg).schema);
    await testAccess(tg).client.query(
      `INSERT INTO ${s}.effects (id, transition_id, machine, entity_id, seq, idx, type, params, created_at)
       VALUES ('planted-e0', $1::uuid, 'subscription', 's2', 7, 0, 'chargePayment', '{}', now())`,
      [randomUUID()],
    );
    const drift = await runCli(['audit', ...flags]);
    expect(drift.code).toBe(1);
    expect(drift.stdout).toMatch(/^audited 0 entities .*; 2 unchanged since their checkpoint\nDRIFT in 1 entity:\n {2}subscription {2}orphan-effect +1 {2}e\.g\. s2\n/);
    expect(drift.stdout).toContain("subscription/s2  orphan-effect: effect planted-e0 (chargePayment) names seq 7, which the entity's history does not have");
    expect(drift.stderr).toBe('');

    const json = await runCli(['audit', ...flags, '--json', '--full']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ audited: 2, drift: [{ machine: 'subscription', kind: 'orphan-effect', entities: 1, examples: ['s2'] }] });

    // An override to a state no event reaches: exit 1, the entity named with the kind, listed with who and why.
    await tg.governance.override({ machine: 'subscription', id: 's1', state: 'trial', reason: 'undo an import', illegal: true });
    const illegal = await runCli(['audit', ...flags]);
    expect(illegal.code).toBe(1);
    expect(illegal.stdout).toMatch(/^ {2}subscription {2}illegal-override +1 {2}e\.g\. s1$/m);
    expect(illegal.stdout).toMatch(/^ {2}subscription\/s1 {2}ILLEGAL seq 3: active -> trial by \S+: undo an import$/m);

    expect(await runCli(['audit', ...flags, '--since', 'yesterday'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--since must be an ISO time') });
    expect(await runCli(['audit', ...flags, '--machine', 'nope'])).toMatchObject({ code: 1, stderr: expect.stringContaining('TG_UNKNOWN_MACHINE') });
  }, 60_000);
});
