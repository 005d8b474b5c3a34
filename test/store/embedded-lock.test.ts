import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTollgate, isTollgateError } from '../../src/index.ts';
import { machines } from '../../machines/index.ts';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tg-embedded-'));
  dirs.push(dir);
  return dir;
}

async function holdInChild(dataDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/store/fixtures/hold-data-dir.ts', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`holder exited early with ${code}`)));
  });
  return child;
}

describe('embedded mode (PGlite data directory)', () => {
  it('persists entities across restarts of the runtime', async () => {
    const dataDir = tempDir();
    const first = await createTollgate({ machines, database: { dataDir } });
    await first.migrate();
    await first.create('subscription', 's1', { customerId: 'c', plan: 'pro' });
    await first.send('subscription', 's1', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await first.close();
    const second = await createTollgate({ machines, database: { dataDir } });
    expect(await second.get('subscription', 's1')).toMatchObject({ state: 'active', version: 2 });
    await second.close();
  }, 60_000);

  it('a second runtime in the same process is refused while the first is open', async () => {
    const dataDir = tempDir();
    const first = await createTollgate({ machines, database: { dataDir } });
    const error = await createTollgate({ machines, database: { dataDir } }).catch((e: unknown) => e);
    expect(isTollgateError(error, 'TG_DATA_DIR_LOCKED')).toBe(true);
    await first.close();
    const again = await createTollgate({ machines, database: { dataDir } });
    await again.close();
  }, 60_000);

  it('another live process gets a clear error naming the directory and the holder; a dead holder\'s lock is taken over', async () => {
    const dataDir = tempDir();
    const holder = await holdInChild(dataDir);

    const error = await createTollgate({ machines, database: { dataDir } }).catch((e: unknown) => e);
    expect(isTollgateError(error, 'TG_DATA_DIR_LOCKED')).toBe(true);
    expect((error as Error).message).toContain(dataDir);
    expect((error as Error).message).toContain(`process ${holder.pid}`);

    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(existsSync(join(dataDir, 'tollgate.lock'))).toBe(true); // stale: the killed process could not remove it
    const taken = await createTollgate({ machines, database: { dataDir } });
    await taken.migrate();
    await taken.create('subscription', 'after-takeover', { customerId: 'c', plan: 'pro' });
    await taken.close();
  }, 90_000);
});
