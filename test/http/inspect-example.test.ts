import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('examples/inspect.ts (docs/inspector.md: createTollgate({ inspect }))', () => {
  it('runs as its comments say: the inspection events of each commit, and the entity as a live actor in a tollgate inspector', async () => {
    const example = readFileSync(new URL('../../examples/inspect.ts', import.meta.url), 'utf8');
    // The log its comments show, line for line.
    const shownLog = [...example.matchAll(/^\/\/ (@xstate\.\w+ tollgate:subscription:sub-1)$/gm)].map((m) => m[1]);
    expect(shownLog.length).toBe(5);
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/inspect.ts'], { timeout: 150_000 });
    expect(stdout.trim().split('\n')).toEqual([...shownLog, 'true']);
  }, 180_000);
});
