import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { adminDatabaseUrl, inCi, natsUrl, reachable, redisUrl } from './services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the test Postgres server, or '' when it is not reachable (then suites run on PGlite). */
    postgresUrl: string;
    /** URL of the test Redis, or '' when it is not reachable. */
    redisUrl: string;
    /** URL of the test NATS (JetStream), or '' when it is not reachable. */
    natsUrl: string;
  }
}

/**
 * Finds the services once per run. Under CI=true a missing service fails the run, never a skip; elsewhere the
 * database suites fall back to PGlite and say so.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  // The embedded database's base image (src/store/drivers/pglite-base.ts) is cached for this run only, not in the
  // user's home: the first fresh PGlite of the run makes it, every later one loads it. Removed at the end.
  const cacheDir = mkdtempSync(join(tmpdir(), 'tollgate-test-cache-'));
  process.env.TOLLGATE_CACHE_DIR = cacheDir;
  const [pg, redis, nats] = await Promise.all([reachable(adminDatabaseUrl), reachable(redisUrl), reachable(natsUrl)]);
  if (inCi && !nats) {
    throw new Error(`CI=true but NATS (${natsUrl}) is not reachable. Start it (.ci/run does); CI never skips the JetStream suites.`);
  }
  if (inCi && (!pg || !redis)) {
    throw new Error(
      `CI=true but ${!pg ? `Postgres (${adminDatabaseUrl})` : ''}${!pg && !redis ? ' and ' : ''}${!redis ? `Redis (${redisUrl})` : ''} ` +
        `is not reachable. Start it (see README, "Tests"); CI never skips the database suites.`,
    );
  }
  if (!pg) console.warn(`[tollgate tests] Postgres not reachable at ${adminDatabaseUrl}: database suites run on PGlite only.`);
  if (!redis) console.warn(`[tollgate tests] Redis not reachable at ${redisUrl}: suites that need Redis are skipped.`);
  project.provide('postgresUrl', pg ? adminDatabaseUrl : '');
  if (!nats) console.warn(`[tollgate tests] NATS not reachable at ${natsUrl}: suites that need JetStream are skipped.`);
  project.provide('redisUrl', redis ? redisUrl : '');
  project.provide('natsUrl', nats ? natsUrl : '');
  return () => rmSync(cacheDir, { recursive: true, force: true });
}
