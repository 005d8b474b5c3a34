import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/cli/args.ts';
import { help, run } from '../../src/cli/commands/test-paths.ts';
import { main } from '../../src/cli/main.ts';
import { testDatabaseUrl } from '../support/databases.ts';

function capture(): { text: () => string } {
  const chunks: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  return { text: () => chunks.join('') };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('tollgate test-paths', () => {
  // On the test Postgres (the default, a throw-away embedded PGlite, is slow to boot under a loaded test run).
  it('runs every path of a shipped machine, prints the table and the coverage, exits 0', async () => {
    const out = capture();
    const code = await run(['payout', '--options', 'test/paths/options.ts', '--paths', 'transitions', '--database-url', await testDatabaseUrl()]);
    vi.restoreAllMocks();
    expect(code).toBe(0);
    expect(out.text()).toMatch(/^path +steps +refusals +result +time$/m);
    expect(out.text()).toMatch(/^SUBMIT → APPROVE → TRANSFER_FAILED → after\(retryDelay\) ⇒ processing +4 +\d+ +ok/m);
    expect(out.text()).toMatch(/payout: paths cover (\d+)\/\1 transitions \(100%\)/);
    expect(out.text()).toMatch(/\d+ paths agree with XState\.\n$/);
  });

  it('exits 1 at the first divergence and shows the path (impure effect params)', async () => {
    const out = capture();
    const code = await run(['ticket', '--machines', 'test/testing/fixtures/impure-machines.ts', '--database-url', await testDatabaseUrl(), '--schema', 'impure']);
    vi.restoreAllMocks();
    expect(code).toBe(1);
    expect(out.text()).toMatch(/^CLOSE ⇒ closed +- +- +DIVERGED/m);
    expect(out.text()).toMatch(/Path "CLOSE ⇒ closed" diverged from XState at step 1 \(CLOSE\).*effects written by this step/);
    expect(out.text()).toMatch(/steps: CLOSE\n/);
  });

  it('needs no options for a shipped machine: the definition carries its own path-testing defaults', async () => {
    const out = capture();
    const code = await run(['subscription', '--database-url', await testDatabaseUrl(), '--schema', 'no_options']);
    vi.restoreAllMocks();
    expect(code).toBe(0);
    expect(out.text()).toMatch(/^subscription, input variant 2 of 2: \d+ paths$/m);
    expect(out.text()).toMatch(/\d+ paths agree with XState\.\n$/);
  });

  it('falls back to telling states apart by value when the graph does not close, and says so', async () => {
    const out = capture();
    const code = await run(['counter', '--machines', 'test/testing/fixtures/counter-machines.ts', '--database-url', await testDatabaseUrl(), '--schema', 'fallback']);
    vi.restoreAllMocks();
    expect(code).toBe(0);
    expect(out.text()).toMatch(/^note: the state graph did not close within 10000 steps when states are told apart by value and context .* told apart by value alone/m);
  });

  it('an --input the machine refuses is a usage error (exit 2), not a divergence', async () => {
    const err: string[] = [];
    capture();
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => err.push(String(chunk)) > 0);
    const code = await main(['test-paths', 'subscription', '--input', '{"plan":"pro"}']);
    vi.restoreAllMocks();
    expect(code).toBe(2);
    expect(err.join('')).toMatch(/--input is not a valid create input for 'subscription': 'customerId'/);
  });

  it('refuses an unknown machine or strategy as a usage error', async () => {
    await expect(run(['nope'])).rejects.toThrow(UsageError);
    await expect(run(['order', '--paths', 'all'])).rejects.toThrow(/--paths must be one of shortest, transitions, simple/);
    expect(help).toMatch(/^tollgate test-paths <machine>/);
  });
});
