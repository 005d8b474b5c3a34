import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { TollgateError } from '../errors.ts';

interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
}

// Directories this process holds: a second runtime in the same process must be refused too.
const heldHere = new Set<string>();

/**
 * Takes an exclusive lock on an embedded data directory (a `tollgate.lock` file created with O_EXCL). A lock
 * whose process is gone (same host, pid not alive) is stale and taken over. Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  const dir = resolve(dataDir);
  const path = join(dir, 'tollgate.lock');
  if (heldHere.has(dir)) throw locked(dir, { pid: process.pid, hostname: hostname(), startedAt: 'now' });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      const owner: LockOwner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
      writeSync(fd, JSON.stringify(owner));
      closeSync(fd);
      heldHere.add(dir);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        heldHere.delete(dir);
        try {
          unlinkSync(path);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(path);
      if (owner && isAlive(owner)) throw locked(dir, owner);
      // Stale (dead process or unreadable file): remove it and race for the lock again.
      try {
        unlinkSync(path);
      } catch {
        // Another process removed it first; the next openSync decides.
      }
    }
  }
  throw locked(dir, readOwner(path) ?? { pid: -1, hostname: 'unknown', startedAt: 'unknown' });
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    if (typeof owner.pid === 'number' && typeof owner.hostname === 'string') return owner as LockOwner;
  } catch {
    // Half-written or unreadable: treated as stale.
  }
  return undefined;
}

function isAlive(owner: LockOwner): boolean {
  // A lock from another host cannot be checked from here: assume it is held.
  if (owner.hostname !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function locked(dir: string, owner: LockOwner): TollgateError {
  return new TollgateError(
    'TG_DATA_DIR_LOCKED',
    `The embedded data directory ${dir} is in use by process ${owner.pid} on ${owner.hostname} (since ` +
      `${owner.startedAt}). PGlite is a single connection: stop that process, point this one at another directory, ` +
      `or use Postgres (database: { url }) to run several processes.`,
    { dataDir: dir, pid: owner.pid, hostname: owner.hostname },
  );
}
