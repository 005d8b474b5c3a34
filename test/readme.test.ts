import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('shows examples/quickstart.ts verbatim, and it runs as shown', async () => {
    const example = readFileSync(new URL('../examples/quickstart.ts', import.meta.url), 'utf8');
    const shown = example.replaceAll("'../src/index.ts'", "'tollgate'").replaceAll("'../machines/index.ts'", "'./machines/index.ts'");
    expect(readme).toContain(shown.trim());

    const dataDir = mkdtempSync(join(tmpdir(), 'tg-quickstart-'));
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/quickstart.ts'], {
        env: { ...process.env, QUICKSTART_DATA_DIR: dataDir },
      });
      expect(stdout).toMatch(/^active \[/m);
      expect(stdout).toContain('true true');
      expect(stdout).toContain('TG_ILLEGAL_TRANSITION');
      expect(stdout).toContain("2 UPGRADE: trial -> active");
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('shows examples/effects.ts verbatim, and it runs as shown: one charge, its follow-up event applied once', async () => {
    const example = readFileSync(new URL('../examples/effects.ts', import.meta.url), 'utf8');
    const shown = example
      .replaceAll("'../src/index.ts'", "'tollgate'")
      .replaceAll("'../workers/index.ts'", "'tollgate/workers'")
      .replaceAll("'../machines/index.ts'", "'./machines/index.ts'");
    expect(readme).toContain(shown.trim());

    const dataDir = mkdtempSync(join(tmpdir(), 'tg-effects-example-'));
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/effects.ts'], {
        env: { ...process.env, EXAMPLE_DATA_DIR: dataDir },
      });
      expect(stdout.match(/^chargePayment completed \{"chargeId":"ch_1"\}$/gm)).toHaveLength(1);
      expect(stdout.match(/PAYMENT_SUCCEEDED by effect\/chargePayment/g)).toHaveLength(1);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('names the test command CI runs and every error code', async () => {
    expect(readme).toContain('npm test');
    expect(readFileSync(new URL('../.ci/run', import.meta.url), 'utf8')).toContain('npm test');
    const { errorRegistry } = await import('../src/errors.ts');
    for (const code of Object.keys(errorRegistry)) expect(readme + readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')).toContain(code);
  });
});
