import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { payoutStandard20261201, payoutStrict20261101 } from '../../machines/policies.ts';
import { createTollgate } from '../../src/index.ts';
import { bin, cliEnv, repoRoot } from '../cli/support.ts';
import { postgresAvailable, testDatabaseUrl, testRuntime } from '../support/databases.ts';

const doc = readFileSync(new URL('../../docs/governance.md', import.meta.url), 'utf8');

/** The fenced blocks of the page, in order: language and text. */
const blocks = [...doc.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1] as string, text: m[2] as string }));

// The shell examples run in a real shell (quotes, `$(date ...)`), with `tollgate` on the PATH, in the repository
// (its tollgate.config.ts registers the demo machines and policies), against a database of this file's own.
const shimDir = mkdtempSync(join(tmpdir(), 'tg-docs-'));
writeFileSync(join(shimDir, 'tollgate'), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`);
chmodSync(join(shimDir, 'tollgate'), 0o755);
afterAll(() => rmSync(shimDir, { recursive: true, force: true }));

async function shell(line: string, url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('bash', ['-c', line], {
      cwd: repoRoot,
      env: cliEnv({ PATH: `${shimDir}:${process.env.PATH ?? ''}`, DATABASE_URL: url, TOLLGATE_ACTOR: 'docs-test' }),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The timing part of the audit's first line, which no two runs share. */
const untimed = (text: string) => text.replace(/ in [\d.]+ s(, [\d,]+ entities\/s)?;/, ' in (time);');

describe.runIf(postgresAvailable())('docs/governance.md', () => {
  it('runs as shown: the policy, freeze and audit commands, the refused psql UPDATE, the SQL override, and the audit output it shows', async () => {
    // The page's SQL names the default schema, so the runtime uses it, in this file's own database.
    const tg = await testRuntime('postgres', { machines, schema: 'tollgate' });
    const url = await testDatabaseUrl();
    await tg.create('subscription', 'sub-1', { customerId: 'c-1', plan: 'pro' });
    await tg.send('subscription', 'sub-1', { type: 'UPGRADE', paymentMethodId: 'pm_1' });
    expect(blocks.map((b) => b.lang)).toEqual(['ts', 'sh', 'sh', '', 'sql', 'sh', '']);
    const [register, policy, freeze, psql, override, audit, auditOutput] = blocks as [(typeof blocks)[number], ...Array<(typeof blocks)[number]>];

    // The registration, evaluated as written.
    const run = new Function('createTollgate', 'machines', 'database', 'payoutStrict20261101', 'payoutStandard20261201', `return (async () => { ${register.text}; return tg; })();`);
    const registered = (await run(createTollgate, machines, { url, maxConnections: 2 }, payoutStrict20261101, payoutStandard20261201)) as Awaited<ReturnType<typeof createTollgate>>;
    expect((await registered.governance.policies('payout'))[0]).toMatchObject({ registered: ['2026-11-01-strict', '2026-12-01-standard'] });
    await registered.close();

    const policyLines = policy!.text.trim().split('\n');
    const listed = await shell(policyLines[0]!, url);
    expect(listed).toMatchObject({ code: 0, stdout: expect.stringContaining('payout: active 2026-12-01-standard') });
    const activated = await shell(policyLines[1]!, url);
    expect(activated).toMatchObject({ code: 0, stdout: expect.stringMatching(/^payout: policy 2026-12-01-standard -> 2026-11-01-strict by docs-test .*regulator hold/) });

    const [freezeLine, freezesLine, unfreezeLine] = freeze!.text.trim().split('\n') as [string, string, string];
    const frozen = await shell(freezeLine, url);
    expect(frozen).toMatchObject({ code: 0, stdout: expect.stringMatching(/^frz_[0-9a-f]{12}\n$/) });
    const id = frozen.stdout.trim();
    expect(await shell(freezesLine, url)).toMatchObject({ code: 0, stdout: expect.stringContaining(`${id}  subscription  every event in active,paused except CANCEL`) });
    // The page's id is an example: the one just made is lifted.
    expect(await shell(unfreezeLine.replace(/frz_[0-9a-f]{12}/, id), url)).toMatchObject({ code: 0 });
    expect((await tg.governance.freezes()).map((f) => f.id)).not.toContain(id);

    // The psql session: the statement is refused with the error and hint shown.
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const statement = psql!.text.match(/^tollgate=# (.*)$/m)![1]!;
      const error = (await sql.unsafe(statement).catch((e: unknown) => e)) as { message: string; hint: string };
      expect(`ERROR:  ${error.message}`).toBe(psql!.text.match(/^ERROR: .*$/m)![0]);
      expect(`HINT:  ${error.hint}`.startsWith(psql!.text.match(/^HINT: (.*?)\.\.\.$/m)![0].replace(/\.\.\.$/, ''))).toBe(true);

      // The override, as written.
      await sql.unsafe(override!.text);
    } finally {
      await sql.end();
    }
    expect((await tg.get('subscription', 'sub-1')).state).toBe('paused.idle');

    // The audit finds the override and prints what the page shows.
    const audited = await shell(audit!.text.trim(), url);
    expect(audited.code).toBe(1);
    expect(untimed(audited.stdout)).toBe(untimed(auditOutput!.text));
  }, 120_000);
});
