import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { bin, cliEnv, repoRoot, runCli } from '../cli/support.ts';
import { postgresAvailable, testDatabaseUrl, testRuntime } from '../support/databases.ts';
import { eventually } from '../support/processes.ts';
import { generateRecords } from '../fixtures/import-records.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

describe.skipIf(!postgresAvailable())('tollgate import (the real CLI)', () => {
  it('killed with SIGKILL mid-import leaves whole batches only; the same command again resumes, skips what is there, reports bad lines', async () => {
    const tg = await testRuntime('postgres', { machines });
    const s = quoteIdent(testAccess(tg).schema);
    const url = await testDatabaseUrl();
    const common = ['--database-url', url, '--schema', testAccess(tg).schema, '--machines', 'machines/index.ts'];
    const count = async (sql: string) => Number((await testAccess(tg).client.query<{ n: string }>(sql.replaceAll('$s', s)))[0]!.n);
    const lines = generateRecords('subscription', 1000, Date.now(), { dueEvery: 1_000_000 }).map((r) => JSON.stringify(r));

    // Standard input, so the test decides where the process is when it dies: 10 batches of 50 written, then 20
    // more lines read into a batch not yet written.
    const child = spawn(process.execPath, [bin, 'import', 'subscription', '--from', '-', '--batch', '50', ...common], { cwd: repoRoot, env: cliEnv() });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    child.stdin.write(`${lines.slice(0, 500).join('\n')}\n`);
    await eventually(async () => (await count(`SELECT count(*) AS n FROM $s.entities`)) === 500, 20_000, `the first 500 entities (stderr: ${stderr})`);
    child.stdin.write(`${lines.slice(500, 520).join('\n')}\n`);
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // Nothing half-written: each entity with its one history row and its timers, the per-state counts right.
    expect(await count(`SELECT count(*) AS n FROM $s.entities`)).toBe(500);
    expect(await count(`SELECT count(*) AS n FROM $s.transitions WHERE event_type = '$imported'`)).toBe(500);
    expect(await count(`SELECT count(*) AS n FROM $s.entities e WHERE NOT EXISTS (SELECT 1 FROM $s.transitions t WHERE t.machine = e.machine AND t.entity_id = e.id)`)).toBe(0);
    const timed = (n: number) => lines.slice(0, n).filter((l) => /"state":"(trial|grace)"/.test(l)).length;
    expect(await count(`SELECT count(*) AS n FROM $s.timers`)).toBe(timed(500));
    expect(Object.values(await tg.stateCounts('subscription')).reduce((a, b) => a + b, 0)).toBe(500);

    const dir = mkdtempSync(join(tmpdir(), 'tg-import-'));
    const file = join(dir, 'subscriptions.ndjson');
    writeFileSync(file, `${lines.join('\n')}\n{"id": "broken"\n`);
    const resumed = await runCli(['import', 'subscription', '--from', file, '--batch', '200', ...common], { timeoutMs: 60_000 });
    expect(resumed.stdout).toContain('subscription: imported 500 of 1001 lines, 500 already imported (skipped), 1 refused');
    expect(resumed.stdout).toMatch(/line 1001: TG_IMPORT_INVALID_RECORD Import record is invalid: not JSON/);
    expect(resumed.stderr).toMatch(/\[#{30}\] 1001\/1001, 1 failed/);
    expect(resumed.code).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM $s.entities`)).toBe(1000);
    expect(await count(`SELECT count(*) AS n FROM $s.timers`)).toBe(timed(1000));
    expect(Object.values(await tg.stateCounts('subscription')).reduce((a, b) => a + b, 0)).toBe(1000);

    const again = await runCli(['import', 'subscription', '--from', file, '--json', ...common], { timeoutMs: 60_000 });
    expect(JSON.parse(again.stdout)).toMatchObject({ imported: 0, skipped: 1000, failed: 1 });
  });
});
