/**
 * tollgate as a package, as a new user gets it: `npm pack` (which builds dist/), the tarball installed into a
 * fresh app with no tsx, then used from plain Node, from strict NodeNext TypeScript, through `npx tollgate` with the
 * app's config, through the HTTP embedding examples of docs/http.md and the README's install steps. One tarball and
 * one install per run; the install reads the npm cache first (--prefer-offline).
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/http/auth.ts';
import { testDatabaseUrl } from '../support/databases.ts';
import { pgliteBaseFileName } from '../../src/store/drivers/pglite-base.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const tsc = join(repo, 'node_modules/typescript/bin/tsc');
const readme = readFileSync(join(repo, 'README.md'), 'utf8');
const httpDoc = readFileSync(join(repo, 'docs/http.md'), 'utf8');

let root: string;
let app: string;
let installLog: string;

// Each app here is its own npm project: scrub what would point npm or tollgate elsewhere.
function appEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('npm_') || name.startsWith('TOLLGATE_') || name === 'DATABASE_URL' || name === 'REDIS_URL' || name === 'NODE_OPTIONS') delete env[name];
  return { ...env, ...extra };
}

async function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return run(cmd, args, { cwd, env: appEnv(env), maxBuffer: 32 * 1024 * 1024 });
}

/** The ```-fenced block after `<!-- marker -->` in a Markdown text. */
function block(markdown: string, marker: string): string {
  const at = markdown.indexOf(`<!-- ${marker} -->`);
  expect(at, `marker ${marker}`).toBeGreaterThanOrEqual(0);
  const match = /```\w*\n([\s\S]*?)```/.exec(markdown.slice(at));
  return (match?.[1] ?? '').trim();
}

/** Starts `node file` in the app and resolves with its origin once it prints `listening on <origin>`. */
function listen(cwd: string, file: string, env: Record<string, string>, args: string[] = []): Promise<{ origin: string; stop(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { cwd, env: appEnv(env) });
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)|tollgate dev: (http:\/\/\S+)/.exec(out);
      if (m) resolve({ origin: (m[1] ?? m[2]) as string, stop: () => new Promise((done) => (child.once('close', () => done()), child.kill('SIGTERM'))) });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('close', (code) => reject(new Error(`${file} exited (${code}) before listening: ${out}`)));
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tollgate-consumer-'));
  const packed = await sh('npm', ['pack', '--pack-destination', root, '--silent'], repo);
  const tarball = join(root, packed.stdout.trim().split('\n').at(-1) as string);
  app = join(root, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', private: true, type: 'module' }));
  const installed = await sh('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'warn'], app);
  installLog = installed.stdout + installed.stderr;
}, 600_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the packed package in a fresh app', () => {
  it('installs without engine warnings, without tsx, with only the shipped files', () => {
    expect(installLog).not.toContain('EBADENGINE');
    expect(existsSync(join(app, 'node_modules/tsx'))).toBe(false);
    const pkg = join(app, 'node_modules/tollgate');
    for (const shipped of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/index.d.ts.map', 'dist/workers/index.js', 'dist/src/http/index.js', 'dist/drizzle/meta/_journal.json', `dist/${pgliteBaseFileName()}`, 'bin/tollgate', 'LICENSE', 'README.md', 'docs/cli.md']) {
      expect(existsSync(join(pkg, shipped)), shipped).toBe(true);
    }
    for (const absent of ['src', 'test', 'bench', '.ci', 'machines', 'tsconfig.json', 'dist/machines']) expect(existsSync(join(pkg, absent)), absent).toBe(false);
  });

  it('runs a plain .mjs script: legal, replayed and illegal events, an effect through startProcesses', async () => {
    copyFileSync(join(fixtures, 'script.mjs'), join(app, 'script.mjs'));
    const { stdout } = await sh(process.execPath, ['script.mjs'], app, { DATABASE_URL: await testDatabaseUrl() });
    expect(stdout.split('\n')).toEqual(
      expect.arrayContaining(['legal closing false', 'replayed closing true', 'illegal TG_ILLEGAL_TRANSITION', 'effect notify {"why":"done"}', 'after effect closed']),
    );
  }, 120_000);

  it('type-checks strict NodeNext usage with the tsconfig tsc --init writes, and catches misuse', async () => {
    await sh(process.execPath, [tsc, '--init'], app);
    const tsconfig = readFileSync(join(app, 'tsconfig.json'), 'utf8');
    expect(tsconfig).toMatch(/"module": "nodenext"/);
    copyFileSync(join(fixtures, 'usage.ts'), join(app, 'usage.ts'));
    const checked = await sh(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit'], app).catch((error: { stdout: string }) => error);
    expect(checked.stdout).toBe('');
    // The @ts-expect-error lines are errors: without them the check fails.
    writeFileSync(join(app, 'usage.ts'), readFileSync(join(fixtures, 'usage.ts'), 'utf8').replaceAll('// @ts-expect-error', '//'));
    const unchecked = await sh(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit'], app).catch((error: { stdout: string }) => error);
    expect(unchecked.stdout.match(/error TS/g)).toHaveLength(4);
    rmSync(join(app, 'usage.ts'));
  }, 120_000);

  it('follows the README install steps: init scaffolds (and refuses to overwrite), dev serves the app machine, the path test passes', async () => {
    const steps = block(readme, 'install-steps').split('\n').map((line) => line.replace(/#.*$/, '').trim());
    expect(steps).toEqual(['npm init -y && npm pkg set type=module', 'npm install tollgate xstate zod', 'npx tollgate init', 'npx tollgate dev', 'node --test']);
    const init = await sh('npx', ['tollgate', 'init'], app);
    expect(init.stdout).toContain('tollgate.config.mjs');
    const again = await sh('npx', ['tollgate', 'init'], app).catch((error: { code: number; stderr: string }) => error);
    expect(again).toMatchObject({ code: 2 });
    expect((again as { stderr: string }).stderr).toMatch(/init writes nothing: .*tollgate.config.mjs/);

    const help = await sh('npx', ['tollgate', '--help'], app);
    expect(help.stdout).toContain('init');
    const machines = await sh('npx', ['tollgate', 'machines'], app);
    expect(machines.stdout).toMatch(/^invoice v1/);
    expect(machines.stdout).not.toContain('subscription');

    // As `npx tollgate dev`, on a free port (3000 may be taken on a shared machine).
    // Its fresh embedded database starts from the image the package ships (pglite-base.ts): nothing is initialised,
    // so nothing is dumped into the (empty) cache.
    const cache = mkdtempSync(join(root, 'cache-'));
    const dev = await listen(app, 'node_modules/tollgate/bin/tollgate', { TOLLGATE_CACHE_DIR: cache }, ['dev', '--port', '0']);
    try {
      expect(dev.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
      const served = await (await fetch(`${dev.origin}/v1/machines`)).json();
      expect(JSON.stringify(served)).toContain('invoice');
      expect(JSON.stringify(served)).not.toContain('subscription');
    } finally {
      await dev.stop();
    }
    expect(readdirSync(cache)).toEqual([]);
    const tested = await sh(process.execPath, ['--test'], app);
    expect(tested.stdout).toMatch(/# pass 1/);
  }, 400_000);

  it('runs the docs/http.md embedding examples: the plugin in a Fastify app, and buildServer', async () => {
    const key = 'tg_consumer_test_key_0123456789abcdef';
    const env = {
      DATABASE_URL: await testDatabaseUrl(),
      PORT: '0',
      TOLLGATE_API_KEYS: JSON.stringify([{ name: 'app', hash: hashApiKey(key), scopes: ['read'] }]),
    };
    writeFileSync(join(app, 'server.mjs'), block(httpDoc, 'example: embed-plugin'));
    writeFileSync(join(app, 'api.mjs'), block(httpDoc, 'example: build-server'));
    for (const [file, base] of [['server.mjs', '/tollgate'], ['api.mjs', '']] as const) {
      const server = await listen(app, file, env);
      try {
        const auth = { authorization: `Bearer ${key}` };
        const machines = await fetch(`${server.origin}${base}/v1/machines`, { headers: auth });
        expect(machines.status).toBe(200);
        expect(JSON.stringify(await machines.json())).toContain('invoice');
        const refused = await fetch(`${server.origin}${base}/v1/machines`);
        expect(refused.status).toBe(401);
        expect(refused.headers.get('content-type')).toContain('application/problem+json');
        if (file === 'server.mjs') expect(await (await fetch(`${server.origin}/health`)).json()).toEqual({ ok: true });
      } finally {
        await server.stop();
      }
    }
  }, 120_000);
});
