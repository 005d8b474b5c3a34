import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Whether something accepts connections on the loopback port. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** After a failure: kills what is left of the run (its group, its Postgres) and removes the directory. */
function leaveNothing(group: number, dir: string): void {
  try {
    process.kill(-group, 'SIGKILL');
  } catch {
    // Gone already.
  }
  try {
    // pg_ctl starts the postmaster in a session of its own: the group's signal does not reach it.
    process.kill(Number(readFileSync(`${dir}/pg/postmaster.pid`, 'utf8').split('\n')[0]), 'SIGQUIT');
  } catch {
    // No cluster left.
  }
  rmSync(dir, { recursive: true, force: true });
}

// Ctrl-C in a terminal sends SIGINT to the whole foreground process group: the runner, the Redis and the tollgate
// processes it started (its Postgres runs in a session of its own). The runner must still stop them all, Postgres
// too, remove its cluster's directory (a stopped cluster left behind holds hundreds of MB in the temp directory),
// and exit 130.
describe('chaos runner, interrupted', () => {
  it('Ctrl-C (SIGINT to its process group) stops what it started, removes the cluster directory and exits 130', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/chaos/run.ts', '--quick', '--seed', '1'], {
      cwd: root,
      detached: true, // its own process group, as a terminal's foreground job
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const started = /postgres 127\.0\.0\.1:(\d+) \((.+)\/pg\), redis 127\.0\.0\.1:(\d+)/;
    const until = Date.now() + 60_000;
    while (!started.test(out) && child.exitCode === null && Date.now() < until) await sleep(100);
    const [, pgPort, dir, redisPort] = started.exec(out) ?? [];
    expect(dir, out).toBeDefined();
    // Let it start its tollgate processes (serve x2, worker x2, relay) and traffic before the interrupt.
    const busy = Date.now() + 45_000;
    while (!/^processes: /m.test(out) && child.exitCode === null && Date.now() < busy) await sleep(100);
    expect(out).toMatch(/^processes: /m);
    await sleep(1_000);
    expect(existsSync(dir as string)).toBe(true);
    process.kill(-(child.pid as number), 'SIGINT');
    try {
      expect(await exited, out).toBe(130);
      expect(existsSync(dir as string), out).toBe(false);
      expect(await answers(Number(pgPort))).toBe(false);
      expect(await answers(Number(redisPort))).toBe(false);
    } finally {
      leaveNothing(child.pid as number, dir as string);
    }
  }, 120_000);
});
