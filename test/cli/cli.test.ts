import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseApiKeys } from '../../src/http/auth.ts';
import { availableCommands, main } from '../../src/cli/main.ts';
import { runCli } from './support.ts';

/** A port nothing listens on (bound once by us, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('tollgate command', () => {
  it('prints help for itself and every command, exit 0', async () => {
    const [top, send, dev] = await Promise.all([runCli(['--help']), runCli(['send', '--help']), runCli(['dev', '-h'])]);
    expect(top.code).toBe(0);
    for (const name of availableCommands()) expect(top.stdout).toContain(`  ${name}`);
    expect(send).toMatchObject({ code: 0, stdout: expect.stringMatching(/^tollgate send <machine> <id> <event-json>/) });
    expect(dev).toMatchObject({ code: 0, stdout: expect.stringMatching(/^tollgate dev \[--port 3000\] \[--data-dir \.\/\.tollgate\]/) });
    // Every command file, through main() in this process (spawning each costs a second of start-up).
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stdout.write;
    try {
      for (const name of availableCommands()) {
        written.length = 0;
        expect(await main([name, '--help']), name).toBe(0);
        expect(written.join(''), name).toMatch(new RegExp(`^tollgate ${name}[ \\n]`));
      }
    } finally {
      process.stdout.write = write;
    }
  });

  it('exits 2 with one clear line on usage errors', async () => {
    const cases = [[], ['bogus'], ['send', 'subscription', 's1'], ['send', 'subscription', 's1', '{not json'], ['get', 'a', 'b', '--bogus'], ['dev', '--port', 'x'], ['diagram', 'nope'], ['keys', 'new'], ['serve', '--database-url', 'postgres://127.0.0.1:1/x'], ['serve', '--relay'], ['worker', '--redis-url', 'redis://127.0.0.1:1', '--metrics-port', '70000']];
    const results = await Promise.all(cases.map((args) => runCli(args)));
    results.forEach((result, i) => {
      expect(result.code, cases[i]?.join(' ')).toBe(2);
      if (i > 0) expect(result.stderr.trim().split('\n'), cases[i]?.join(' ')).toHaveLength(1);
      if (i > 0) expect(result.stderr).toMatch(/^tollgate: /);
    });
    expect(results[8]?.stderr).toContain('serve needs API keys');
    expect(results[9]?.stderr).toContain('serve --relay needs Redis');
    expect(results[10]?.stderr).toContain('--metrics-port must be an integer from 0 to 65535');
  });

  it('exits 3 when the API or the database cannot be reached', async () => {
    const port = await closedPort();
    const [api, db, worker] = await Promise.all([
      runCli(['get', 'subscription', 's1', '--url', `http://127.0.0.1:${port}`]),
      runCli(['migrate', '--database-url', `postgres://postgres@127.0.0.1:${port}/none`]),
      // Waiting for the database at start is off (0 s): it fails at once (start-wait.test.ts has the wait).
      runCli(['worker', '--database-url', `postgres://postgres@127.0.0.1:${port}/none`, '--redis-url', `redis://127.0.0.1:${port}`], { env: { TOLLGATE_START_WAIT_SECONDS: '0' } }),
    ]);
    expect(api).toMatchObject({ code: 3, stderr: expect.stringContaining(`tollgate: cannot reach a service: the tollgate API at http://127.0.0.1:${port}`) });
    expect(db).toMatchObject({ code: 3, stderr: expect.stringContaining('ECONNREFUSED') });
    expect(worker.code).toBe(3);
  });

  it('makes key entries that the server accepts; keys are printed once and stored hashed', async () => {
    const made = await runCli(['keys', 'new', '--name', 'billing', '--scopes', 'write', '--machines', 'subscription']);
    expect(made.code).toBe(0);
    const key = /key \(give it to the client; it is not stored\): (tg_\S+)/.exec(made.stderr)?.[1] as string;
    const [entry] = parseApiKeys(`[${made.stdout}]`, 'test');
    expect(entry).toMatchObject({ name: 'billing', scopes: ['write'], machines: ['subscription'] });
    expect(made.stdout).not.toContain(key);
    const hashed = await runCli(['keys', 'hash', key, '--name', 'billing', '--scopes', 'write', '--machines', 'subscription']);
    expect(hashed.stdout).toBe(made.stdout);
  });

  it('prints machines and diagrams without a database', async () => {
    const [list, diagram] = await Promise.all([runCli(['machines', '--json']), runCli(['diagram', 'order'])]);
    expect(JSON.parse(list.stdout).map((m: { name: string; version: number }) => `${m.name}@${m.version}`)).toEqual(['subscription@1', 'order@1', 'payout@1']);
    expect(diagram.stdout).toMatch(/^stateDiagram-v2\n/);
    expect(diagram.stdout).toContain('state paid {');
  });

  it('prints one machine, and with --json its compact definition (under 50 KB, as the HTTP route)', async () => {
    const [order, text, unknown] = await Promise.all([runCli(['machines', 'order', '--json']), runCli(['machines', 'payout']), runCli(['machines', 'nope'])]);
    expect(order.stdout.length).toBeLessThan(50_000);
    const detail = JSON.parse(order.stdout) as { name: string; definition: { id: string; states: Record<string, unknown> }; eventSchemas: Record<string, unknown> };
    expect(detail).toMatchObject({ name: 'order', definition: { id: 'order' } });
    expect(Object.keys(detail.definition.states)).toContain('paid');
    expect(Object.keys(detail.eventSchemas)).toContain('PAY');
    expect(text.stdout).toMatch(/^payout v1/);
    expect(text.stdout).not.toContain('subscription');
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining("no machine 'nope'. Machines: subscription, order, payout.") });
  });
});
