import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTollgate } from '../../src/index.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { machines as release2 } from '../../examples/evolution/machines-v2.ts';
import { backends, type Backend } from '../support/databases.ts';
import { cliDatabase, recordSubscriptionActivity } from '../support/evolution.ts';
import { bin, cliEnv, repoRoot, runCli } from '../cli/support.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

const page = readFileSync(new URL('../../docs/evolution.md', import.meta.url), 'utf8');
const example = page.slice(page.indexOf('## Worked example'));

/** Each `npx tollgate ...` line of the worked example, its exit code (`# exit N`), and the output block shown after its block (the output of its first command). */
function commands(): Array<{ args: string[]; exit: number; output: string | undefined }> {
  const blocks = [...example.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], body: m[2]! }));
  const found: Array<{ args: string[]; exit: number; output: string | undefined }> = [];
  blocks.forEach((block, i) => {
    if (block.lang !== 'sh') return;
    for (const line of block.body.split('\n').filter((l) => l.startsWith('npx tollgate '))) {
      const [command, comment = ''] = line.split('#');
      const next = blocks[i + 1];
      found.push({
        args: command!.trim().split(/\s+/).slice(2),
        exit: Number(/exit (\d)/.exec(comment)?.[1] ?? NaN),
        output: next && next.lang === '' && block.body.split('\n').find((l) => l.startsWith('npx tollgate ')) === line ? next.body : undefined,
      });
    }
  });
  return found;
}

const collapse = (text: string) => text.replace(/\s+/g, ' ').trim();

describe.each(backends())('docs/evolution.md worked example on %s', (backend: Backend) => {
  let target: string[];
  let remove: () => void;
  beforeAll(async () => {
    ({ args: target, remove } = await cliDatabase(backend, async (tg, clock) => {
      await recordSubscriptionActivity(tg, clock);
      for (let i = 0; i < 150; i++) {
        const id = `g${String(i).padStart(3, '0')}`;
        await tg.create('subscription', id, { customerId: `c-${id}`, plan: 'pro' });
        await tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm' } as { type: string });
        await tg.send('subscription', id, { type: 'PAYMENT_FAILED' });
      }
    }));
  }, 300_000);
  afterAll(() => remove());

  it('every command runs as shown, with the exit code and the output the page shows', async () => {
    const shown = commands();
    expect(shown.map((c) => c.args.slice(0, 1)[0])).toEqual(['deploy-check', 'deploy-check', 'replay', 'replay', 'entities']);
    for (const command of shown.filter((c) => c.args[0] !== 'entities')) {
      const result = await runCli([...command.args, ...target], { timeoutMs: 90_000 });
      expect(result.code, `${command.args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(command.exit);
      if (command.output) expect(collapse(result.stdout)).toContain(collapse(command.output));
    }
  }, 600_000);

  it('a migration that throws: recorded and reported, the run stops once more than --max-failures failed (exit 1)', async () => {
    const broken = ['entities', 'migrate', 'subscription', '--machines', 'test/fixtures/evolution-broken-migration.ts', '--batch', '5', '--json', ...target];
    const stopped = await runCli([...broken, '--max-failures', '0'], { timeoutMs: 120_000 });
    expect(stopped.code, stopped.stderr).toBe(1);
    const first = JSON.parse(stopped.stdout) as { stopped: boolean; failed: number; migrated: number; failures: Array<{ id: string; code: string }> };
    // Entities migrate a few at once on Postgres: g004 may fail in the same round as g003 before the run stops.
    expect(first.stopped).toBe(true);
    expect(first.failures.map((f) => [f.id, f.code])).toContainEqual(['g003', 'TG_MIGRATION_FAILED']);
    expect(first.failures.every((f) => ['g003', 'g004'].includes(f.id))).toBe(true);
    expect(first.migrated).toBeGreaterThanOrEqual(5); // dunned, expired, g000-g002 sort before g003
    expect(first.migrated).toBeLessThan(20); // stopped: the entities after g003's page were not reached
    // A dry run (writes nothing) that tolerates them goes through and reports both.
    const tolerant = await runCli([...broken, '--max-failures', '5', '--dry-run'], { timeoutMs: 120_000 });
    expect(tolerant.code).toBe(1);
    expect(JSON.parse(tolerant.stdout)).toMatchObject({ stopped: false, failed: 2, failures: [{ id: 'g003' }, { id: 'g004' }] });
  }, 300_000);

  it('the bulk migration, killed with SIGKILL half-way, resumes to completion: one $migrated row each, versions gapless', async () => {
    const migrate = commands().find((c) => c.args[0] === 'entities')!;
    expect(migrate.exit).toBe(0);
    // First run: killed as soon as its progress bar shows 10%.
    const killed = await new Promise<{ stderr: string; signal: NodeJS.Signals | null }>((resolve) => {
      const child = spawn(process.execPath, [bin, ...migrate.args, ...target], { cwd: repoRoot, env: cliEnv() });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/\] \d+\/\d+/.test(stderr)) child.kill('SIGKILL');
      });
      child.on('close', (_code, signal) => resolve({ stderr, signal }));
    });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');

    const resumed = await runCli([...migrate.args, '--json', ...target], { timeoutMs: 120_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    const report = JSON.parse(resumed.stdout) as { total: number; migrated: number; failed: number };
    expect(report.failed).toBe(0);
    expect(report.total).toBeGreaterThan(0);
    expect(report.total).toBeLessThan(150); // the broken run migrated at least 5, the killed one at least 1
    expect(report.migrated).toBe(report.total);
    const again = await runCli([...migrate.args, '--json', ...target], { timeoutMs: 60_000 });
    expect(JSON.parse(again.stdout)).toMatchObject({ total: 0, migrated: 0 });

    // Every entity: at version 2, one $migrated row, its seqs 1..version without a gap.
    const database = target[0] === '--data-dir' ? { dataDir: target[1]! } : { url: target[1]! };
    const tg = await createTollgate({ machines: release2, database, ...(target[2] === '--schema' ? { schema: target[3]! } : {}) });
    try {
      const s = quoteIdent(testAccess(tg).schema);
      const rows = await testAccess(tg).client.query<{ id: string; version: number; machine_version: number; seqs: number[]; migrated: number }>(
        `SELECT e.id, e.version, e.machine_version, to_jsonb(array_agg(t.seq ORDER BY t.seq)) AS seqs, count(*) FILTER (WHERE t.event_type = '$migrated')::int AS migrated
         FROM ${s}.entities e JOIN ${s}.transitions t ON t.machine = e.machine AND t.entity_id = e.id WHERE e.machine = 'subscription' GROUP BY e.id, e.version, e.machine_version`,
      );
      expect(rows).toHaveLength(155);
      for (const row of rows) {
        expect(row, row.id).toMatchObject({ machine_version: 2, migrated: 1 });
        expect(row.seqs, row.id).toEqual(Array.from({ length: row.version }, (_, i) => i + 1));
      }
      expect((await tg.get('subscription', 'g007')).state).toBe('grace.first_notice');
      expect((await tg.rejections('subscription', 'g003')).map((r) => r.code)).toContain('TG_MIGRATION_FAILED'); // the broken run recorded it
    } finally {
      await tg.close();
    }
  }, 600_000);
});
