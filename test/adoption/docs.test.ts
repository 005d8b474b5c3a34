import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../cli/support.ts';

const doc = readFileSync(new URL('../../docs/adoption.md', import.meta.url), 'utf8');
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('docs/adoption.md', () => {
  it('shows examples/import.ts and its export verbatim; the example prints what the page says, and again skips', async () => {
    const example = read('examples/import.ts').replaceAll("'../src/index.ts'", "'tollgate'").replaceAll("'../machines/index.ts'", "'./machines/index.ts'");
    expect(doc).toContain(example.trim());
    expect(doc).toContain(read('examples/legacy-subscriptions.ndjson').trim());
    const dataDir = mkdtempSync(join(tmpdir(), 'tg-import-example-'));
    try {
      const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/import.ts'], { cwd: repoRoot, env: { ...process.env, EXAMPLE_DATA_DIR: dataDir } });
      const { stdout } = await run();
      const shown = /It prints:\n\n```text\n([\s\S]*?)```/.exec(doc)?.[1];
      expect(stdout).toBe(shown);
      expect((await run()).stdout).toContain('imported 0, skipped 3, refused 1');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('runs the commands it shows, and the CLI prints the summary shown', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tg-import-cli-doc-'));
    try {
      const commands = /```sh\n(tollgate migrate [^\n]*)\n(tollgate import [^\n]*)\n```/.exec(doc);
      expect(commands).not.toBeNull();
      const args = (line: string) => line.split(' ').slice(1).map((a) => (a === './.tollgate' ? dataDir : a));
      expect((await runCli(args(commands![1]!), { timeoutMs: 60_000 })).code).toBe(0);
      const result = await runCli(args(commands![2]!), { timeoutMs: 60_000 });
      expect(result.code).toBe(1);
      const shown = /```text\n(subscription: imported[\s\S]*?)```/.exec(doc)?.[1] ?? '';
      // The timers line depends on the day it runs (legacy-2's grace ends on 2026-12-05); the rest is as shown.
      const stable = (text: string) => text.split('\n').filter((l) => !l.includes('timers:')).join('\n');
      expect(stable(result.stdout)).toBe(stable(shown));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
