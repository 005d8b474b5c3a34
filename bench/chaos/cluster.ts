/**
 * A deployment of its own for the chaos runner: a Postgres cluster (initdb + pg_ctl in a temporary directory, on
 * a free loopback port), a redis-server without persistence, and tollgate processes (`serve` x2, `worker` x2,
 * `relay`), each restartable. Never touches the machine's shared services; `destroy()` leaves nothing behind.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { hashApiKey } from '../../src/http/auth.ts';
import { freePort } from '../../test/support/free-port.ts';

const bin = fileURLToPath(new URL('../../bin/tollgate', import.meta.url));

export { freePort } from '../../test/support/free-port.ts';

function postgresBin(): string {
  const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('no Postgres in /usr/lib/postgresql/*/bin: the chaos runner needs initdb and pg_ctl');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

// Postgres refuses to run as root: then its commands run as the postgres user, which owns the directory.
const asPostgres = process.getuid?.() === 0;

function run(command: string, args: string[]): void {
  const result = asPostgres ? spawnSync('runuser', ['-u', 'postgres', '--', command, ...args], { encoding: 'utf8' }) : spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
}

/**
 * `run` without blocking the event loop: the clean-up after a signal uses it, because tsx's parent process waits a
 * moment for this process to answer its signal relay and kills it when the loop is blocked (a blocking `pg_ctl stop`
 * there once left the cluster's directory behind).
 */
function runAsync(command: string, args: string[]): Promise<void> {
  const [file, argv] = asPostgres ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { encoding: 'utf8' }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} ${args.join(' ')} failed: ${stderr || stdout || error.message}`)) : resolve(),
    );
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** Kinds of tollgate process the runner starts. */
export type ProcessKind = 'serve' | 'worker' | 'relay';

/** One tollgate process, restartable with the same arguments. */
export interface TollgateProcess {
  readonly kind: ProcessKind;
  readonly name: string;
  /** serve: its base URL. */
  readonly url?: string;
  child: ChildProcess | undefined;
  /** Output tail, for a failure report. */
  readonly log: string[];
}

/** Worker lock duration the runner configures (BullMQ re-runs a stalled job after about this plus the stalled interval). */
export const LOCK_DURATION_MS = 5_000;

export class Cluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'tollgate-chaos-'));
  readonly apiKey = `tg_${randomBytes(18).toString('base64url')}`;
  readonly processes: TollgateProcess[] = [];
  redis: ChildProcess | undefined;
  private readonly pgBin = postgresBin();
  private constructor(
    readonly pgPort: number,
    readonly redisPort: number,
  ) {}

  get databaseUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.pgPort}/postgres`;
  }
  get redisUrl(): string {
    return `redis://127.0.0.1:${this.redisPort}`;
  }
  get pgData(): string {
    return join(this.dir, 'pg');
  }

  static async start(log: (line: string) => void): Promise<Cluster> {
    const cluster = new Cluster(await freePort(), await freePort());
    if (asPostgres) spawnSync('chown', ['postgres:', cluster.dir]);
    run(join(cluster.pgBin, 'initdb'), ['-D', cluster.pgData, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    await cluster.startPostgres();
    await cluster.startRedis();
    log(`postgres 127.0.0.1:${cluster.pgPort} (${cluster.pgData}), redis 127.0.0.1:${cluster.redisPort}`);
    const migrated = spawnSync(process.execPath, [bin, 'migrate'], { env: cluster.env(), encoding: 'utf8' });
    if (migrated.status !== 0) throw new Error(`tollgate migrate failed: ${migrated.stderr}`);
    return cluster;
  }

  /** The environment every tollgate process gets. */
  env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      DATABASE_URL: this.databaseUrl,
      REDIS_URL: this.redisUrl,
      TOLLGATE_API_KEYS: JSON.stringify([{ name: 'chaos', hash: hashApiKey(this.apiKey), scopes: ['admin'] }]),
      TOLLGATE_LOG_LEVEL: 'warn',
      TOLLGATE_LOCK_DURATION_MS: String(LOCK_DURATION_MS),
    };
  }

  async startPostgres(): Promise<void> {
    // max_connections is what the connection-exhaustion fault takes; fsync off: the runner crashes processes,
    // not the machine, so the operating system keeps every write Postgres made.
    const options = `-p ${this.pgPort} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=80 -c fsync=off`;
    run(join(this.pgBin, 'pg_ctl'), ['-D', this.pgData, '-o', options, '-l', join(this.dir, 'pg.log'), '-w', '-t', '60', 'start']);
  }

  /** `pg_ctl stop -m immediate` (a crash: recovery from the WAL on start) or `-m fast`, then start again. */
  async restartPostgres(mode: 'immediate' | 'fast', downMs: number): Promise<void> {
    run(join(this.pgBin, 'pg_ctl'), ['-D', this.pgData, '-m', mode, '-w', 'stop']);
    await sleep(downMs);
    await this.startPostgres();
  }

  async startRedis(): Promise<void> {
    this.redis = spawn('redis-server', ['--port', String(this.redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitForPort(this.redisPort, 10_000);
  }

  /** SIGKILL Redis and start an empty one on the same port. */
  async killRedis(downMs: number): Promise<void> {
    const old = this.redis;
    old?.kill('SIGKILL');
    if (old && old.exitCode === null) await new Promise((resolve) => old.once('exit', resolve));
    await sleep(downMs);
    await this.startRedis();
  }

  /** Starts a tollgate process of `kind`; `serve` listens on `port`. */
  async spawnTollgate(kind: ProcessKind, name: string, port?: number): Promise<TollgateProcess> {
    const args =
      kind === 'serve'
        ? ['serve', '--host', '127.0.0.1', '--port', String(port)]
        : kind === 'worker'
          ? ['worker', '--no-relay', '--concurrency', '8']
          : ['relay'];
    const proc: TollgateProcess = { kind, name, url: port ? `http://127.0.0.1:${port}` : undefined, child: undefined, log: [] };
    (proc as { args?: string[] }).args = args;
    this.processes.push(proc);
    await this.restart(proc);
    return proc;
  }

  /**
   * (Re)starts `proc` and waits until it is up, as a supervisor would: a process that exits at start (its database
   * or Redis is away, which it refuses to start without) is started again every second for up to two minutes.
   */
  async restart(proc: TollgateProcess): Promise<void> {
    const until = Date.now() + 120_000;
    for (;;) {
      try {
        return await this.startOnce(proc);
      } catch (error) {
        if (Date.now() > until) throw error;
        await sleep(1000);
      }
    }
  }

  private async startOnce(proc: TollgateProcess): Promise<void> {
    const args = (proc as { args?: string[] }).args ?? [];
    const child = spawn(process.execPath, [bin, ...args], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    proc.child = child;
    const keep = (chunk: Buffer) => {
      proc.log.push(...chunk.toString().split('\n').filter(Boolean));
      if (proc.log.length > 200) proc.log.splice(0, proc.log.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const ready = proc.kind === 'serve' ? /listening on/ : /running/;
    const until = Date.now() + 60_000;
    while (!proc.log.some((line) => ready.test(line))) {
      if (child.exitCode !== null) throw new Error(`${proc.name} exited at start: ${proc.log.slice(-10).join('\n')}`);
      if (Date.now() > until) throw new Error(`${proc.name} did not start in 60 s: ${proc.log.slice(-10).join('\n')}`);
      await sleep(100);
    }
    proc.log.length = 0;
  }

  /** SIGKILL `proc` (the run goes on without it until `restart`). */
  async kill(proc: TollgateProcess): Promise<void> {
    const child = proc.child;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }

  /** Stops every process it started and removes its directory. */
  /**
   * On SIGINT or SIGTERM, destroys the cluster and exits 130; repeated signals (a Ctrl-C reaches npm and this
   * process both) are ignored while it does. `npm run chaos` and `npm run soak` run under `node --import tsx`, not
   * the tsx command: tsx's parent process relays a signal and SIGKILLs its child when the child does not answer
   * within 30 ms, which a loaded machine misses, and that left a stopped cluster's 600 MB directory behind. Returns
   * the function that removes the handler.
   */
  destroyOnSignal(log: (line: string) => void): () => void {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: stopping every process and removing the cluster`);
      void this.destroy()
        .catch((error: unknown) => log(`clean-up failed: ${String(error)}; remove ${this.dir} by hand`))
        .finally(() => process.exit(130));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    return () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    };
  }

  async destroy(): Promise<void> {
    for (const proc of this.processes) {
      if (proc.child && proc.child.exitCode === null) {
        proc.child.kill('SIGCONT');
        proc.child.kill('SIGKILL');
      }
    }
    if (this.redis && this.redis.exitCode === null) {
      this.redis.kill('SIGCONT');
      this.redis.kill('SIGKILL');
    }
    await runAsync(join(this.pgBin, 'pg_ctl'), ['-D', this.pgData, '-m', 'immediate', '-w', 'stop']).catch(() => {
      // Not running.
    });
    // CHAOS_KEEP=1 keeps the cluster's directory (Postgres data, every process's log) to look into a failed run.
    if (process.env.CHAOS_KEEP) console.log(`chaos: kept ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}
