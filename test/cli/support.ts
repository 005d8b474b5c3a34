import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const bin = fileURLToPath(new URL('../../bin/tollgate', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

// Variables that would change what a command connects to; tests pass what they mean explicitly.
const scrubbed = ['DATABASE_URL', 'REDIS_URL', 'TOLLGATE_API_KEYS', 'TOLLGATE_API_KEY', 'TOLLGATE_URL', 'TOLLGATE_SCHEMA'];

export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of scrubbed) delete env[name];
  return { ...env, ...extra };
}

/** Runs `tollgate <args>` as a real process to completion. */
export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? repoRoot, env: cliEnv(options.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tollgate ${args.join(' ')} did not finish in ${options.timeoutMs ?? 20_000} ms; stderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running command (dev, serve, worker): resolves once its stdout matches `ready`. */
export interface Daemon {
  readonly child: ChildProcess;
  readonly match: RegExpMatchArray;
  output(): { stdout: string; stderr: string };
  /** Sends SIGTERM and resolves to the exit code. */
  stop(): Promise<number | null>;
}

const daemons: ChildProcess[] = [];
afterAll(() => {
  for (const child of daemons) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export function startDaemon(
  args: string[],
  ready: RegExp,
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; onStderr?: (stderr: string) => void } = {},
): Promise<Daemon> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? repoRoot, env: cliEnv(options.env) });
    daemons.push(child);
    let stdout = '';
    let stderr = '';
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    const timer = setTimeout(() => reject(new Error(`tollgate ${args.join(' ')} not ready in time; stdout: ${stdout}; stderr: ${stderr}`)), options.timeoutMs ?? 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = stdout.match(ready);
      if (match) {
        clearTimeout(timer);
        resolve({
          child,
          match,
          output: () => ({ stdout, stderr }),
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      options.onStderr?.(stderr);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`tollgate ${args.join(' ')} exited with ${code} before it was ready; stderr: ${stderr}`));
    });
  });
}
