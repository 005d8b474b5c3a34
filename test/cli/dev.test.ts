import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, repoRoot, runCli, startDaemon, type Daemon } from './support.ts';

const dataRoot = mkdtempSync(join(tmpdir(), 'tollgate-dev-'));
afterAll(() => rmSync(dataRoot, { recursive: true, force: true }));

/** The quick-start block (after the `quickstart` marker) of a document. */
function quickstartBlock(path: string): string {
  const doc = readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
  const block = /<!-- quickstart:[^>]*-->\n```sh\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error(`${path} has no quickstart block`);
  return block;
}

/** The README's quick-start lines, continuations joined; docs/http.md must show the same block. */
function quickstartLines(): string[] {
  const block = quickstartBlock('README.md');
  expect(quickstartBlock('docs/http.md')).toBe(block);
  return block.replace(/\\\n\s*/g, '').trim().split('\n');
}

/**
 * Waits until the entity has `count` effects, all completed and their follow-up events through the gate (the
 * in-process workers run them after commit).
 */
async function waitForEffects(url: string, id: string, count: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { items } = (await (await fetch(`${url}/v1/entities/subscription/${id}/effects`)).json()) as {
      items: Array<{ status: string; followUp: { outcome: unknown } | null }>;
    };
    if (items.length === count && items.every((e) => e.status === 'completed' && (e.followUp === null || e.followUp.outcome !== null))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`effects of ${id} did not complete`);
}

describe('tollgate dev', () => {
  let dev: Daemon | undefined;
  let url = '';
  const dataDir = join(dataRoot, 'quickstart');

  beforeAll(async () => {
    dev = await startDaemon(['dev', '--port', '0', '--data-dir', dataDir], /tollgate dev: (http:\/\/127\.0\.0\.1:\d+)[\s\S]*try: /, { timeoutMs: 40_000 });
    url = dev.match[1] as string;
  }, 45_000);

  it('runs the quick start of the README (and docs/http.md) as written', async () => {
    const outputs: string[] = [];
    for (const line of quickstartLines()) {
      const { stdout } = await promisify(execFile)('sh', ['-c', line.replaceAll('http://127.0.0.1:3000', url)], {
        cwd: repoRoot,
        env: cliEnv({ TOLLGATE_URL: url }),
      });
      outputs.push(stdout);
      if (line.includes('/events')) await new Promise((r) => setTimeout(r, 1000)); // a reader's pause: the demo provider answers
    }
    const [created, upgraded, illegal, entity, transitions, effects, history] = outputs as string[];
    expect(JSON.parse(created as string)).toMatchObject({ id: 'sub-1', state: 'trial' });
    expect(JSON.parse(upgraded as string)).toMatchObject({ replayed: false, entity: { state: 'active' }, transition: { idempotencyKey: 'upgrade-1' } });
    expect(JSON.parse(illegal as string)).toMatchObject({ status: 409, code: 'TG_ILLEGAL_TRANSITION', state: 'active' });
    expect(JSON.parse(entity as string)).toMatchObject({ state: 'active', context: { paymentMethodId: 'pm_1' } });
    expect(JSON.parse(transitions as string).items.map((t: { eventType: string }) => t.eventType)).toEqual(['xstate.init', 'UPGRADE', 'PAYMENT_SUCCEEDED']);
    expect(JSON.parse(effects as string).items).toMatchObject([{ type: 'chargePayment', status: 'completed' }]);
    expect(history).toMatch(/^subscription\/sub-1: now active/);
    expect(outputs).toHaveLength(7);
  }, 60_000);

  it('tollgate demo --url drives the running server through its API, and reads the integrity summary back from it', async () => {
    const demo = await runCli(['demo', '--url', url, '--subscriptions', '9', '--concurrency', '3', '--no-progress']);
    expect(demo.stderr).toBe('');
    expect(demo.code).toBe(0);
    expect(demo.stdout).toContain(`tollgate demo: 9 subscriptions on ${url}`);
    expect(demo.stdout).toContain('integrity: OK, nothing drifted');
    // Every subscription ends canceled with exactly one cancellation email, read back over HTTP.
    expect(demo.stdout).toMatch(/cancellation emails \.+ 9 \(subscriptions with more than one: 0\)/);
    expect(demo.stdout).toMatch(/attempts rejected \.+ .*TG_ILLEGAL_TRANSITION [1-9]/);
    expect(demo.stdout).toMatch(/conflict retries \.+ \d+/);
    const { items } = (await (await fetch(`${url}/v1/entities/subscription?state=canceled&limit=100`)).json()) as { items: Array<{ id: string }> };
    expect(items.filter((e) => e.id.startsWith('demo-'))).toHaveLength(9);
    // The inspector draws them: every entity of this server in `canceled` is counted on that state.
    const diagram = await runCli(['diagram', 'subscription', '--url', url]);
    expect(diagram.code).toBe(0);
    expect(diagram.stdout).toMatch(new RegExp(`state "canceled \\(${items.length}\\)" as canceled`));
  }, 60_000);

  it('dev serves an open loopback API with workers; create, send, get and history drive it; SIGTERM stops it cleanly', async () => {
    if (!dev) throw new Error('tollgate dev did not start');
    expect(dev.output().stdout).toContain('auth: OPEN (no API keys configured): answering loopback clients only');
    expect(dev.output().stdout).toContain('background: relay, effect workers, timers, lifecycle feed on the in-process transport');

    const [created, missing] = await Promise.all([
      runCli(['create', 'subscription', 'cli-1', '{"customerId":"c-1","plan":"pro"}', '--url', url]),
      runCli(['get', 'subscription', 'nobody', '--url', url]),
    ]);
    expect(created).toMatchObject({ code: 0, stdout: expect.stringContaining('created in trial') });
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('TG_ENTITY_NOT_FOUND') });
    const sent = await runCli(['send', 'subscription', 'cli-1', '{"type":"UPGRADE","paymentMethodId":"pm_1"}', '--idempotency-key', 'k1', '--url', url]);
    expect(sent).toMatchObject({ code: 0, stdout: expect.stringContaining('UPGRADE trial -> active (version 2)') });
    const illegal = await runCli(['send', 'subscription', 'cli-1', '{"type":"RESUME"}', '--url', url]);
    expect(illegal.code).toBe(1);
    expect(illegal.stderr).toMatch(/^tollgate: TG_ILLEGAL_TRANSITION: 'RESUME' is not allowed for subscription\/cli-1 in state 'active'/);
    await waitForEffects(url, 'cli-1', 1); // the charge's follow-up PAYMENT_SUCCEEDED must land before CANCEL
    expect((await runCli(['send', 'subscription', 'cli-1', '{"type":"CANCEL"}', '--url', url])).code).toBe(0);
    await waitForEffects(url, 'cli-1', 2);

    const [history, get] = await Promise.all([runCli(['history', 'subscription', 'cli-1', '--url', url]), runCli(['get', 'subscription', 'cli-1', '--url', url])]);
    expect(history.stdout).toMatch(/^subscription\/cli-1: now canceled \(version \d+, status done\)/);
    expect(history.stdout).toMatch(/#1 .* created +-> trial/);
    expect(history.stdout).toMatch(/#2 .* UPGRADE +trial -> active +key k1\n +effect chargePayment: completed/);
    expect(history.stdout).toMatch(/CANCEL +active -> canceled\n +effect sendEmail: completed/);
    expect(JSON.parse(get.stdout)).toMatchObject({ state: 'canceled', status: 'done', context: { paymentMethodId: 'pm_1' } });

    expect(await dev.stop()).toBe(0);
    expect(dev.output().stderr).toContain('SIGTERM received, shutting down');
    expect(existsSync(join(dataDir, 'tollgate.lock'))).toBe(false);
  }, 90_000);
});
