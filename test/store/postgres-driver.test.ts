import { afterEach, describe, expect, it } from 'vitest';
import { postgresClient } from '../../src/store/drivers/postgres.ts';
import { indexPlan, planEachRun, type SqlClient } from '../../src/store/sql-client.ts';
import { testDatabaseUrl } from '../support/databases.ts';

const open: SqlClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function client(): Promise<SqlClient> {
  const c = postgresClient({ url: await testDatabaseUrl(), maxConnections: 4 });
  open.push(c);
  return c;
}

const planCacheMode = `SELECT current_setting('plan_cache_mode') AS mode, $1::int AS n`;

describe('postgres driver', () => {
  it('runs planEachRun statements prepared on sessions that plan every run, the others with cached plans', async () => {
    const c = await client();
    // With a parameter: postgres.js would describe an unnamed statement first (two round trips); these stay prepared.
    expect(await c.query(planCacheMode, [1], planEachRun)).toEqual([{ mode: 'force_custom_plan', n: 1 }]);
    expect(await c.query(planCacheMode, [2])).toEqual([{ mode: 'auto', n: 2 }]);
  });

  it('plans a planEachRun statement on every run; other statements switch to a cached generic plan', async () => {
    // One connection per pool, so the statement and the look at pg_prepared_statements share a session.
    const c = postgresClient({ url: await testDatabaseUrl(), maxConnections: 1 });
    open.push(c);
    const statement = `SELECT relname FROM pg_class WHERE oid = $1::oid`;
    const plans = `SELECT generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements WHERE statement = $1::text`;
    for (let i = 0; i < 8; i++) {
      await c.query(statement, [1259], planEachRun);
      await c.query(statement, [1259]);
    }
    expect(await c.query(plans, [statement], planEachRun)).toEqual([{ generic: 0, custom: 8 }]);
    const [cached] = await c.query<{ generic: number; custom: number }>(plans, [statement]);
    expect(cached?.generic).toBeGreaterThan(0); // after five custom plans Postgres keeps the generic one
  });

  it('runs indexPlan statements on sessions with sequential scans off that keep a cached generic plan', async () => {
    const c = postgresClient({ url: await testDatabaseUrl(), maxConnections: 1 });
    open.push(c);
    const statement = `SELECT current_setting('enable_seqscan') AS seqscan, relname FROM pg_class WHERE oid = $1::oid`;
    for (let i = 0; i < 8; i++) expect(await c.query(statement, [1259], indexPlan)).toEqual([{ seqscan: 'off', relname: 'pg_class' }]);
    expect(await c.query(`SELECT current_setting('enable_seqscan') AS seqscan, $1::int AS n`, [1])).toEqual([{ seqscan: 'on', n: 1 }]);
    const plans = `SELECT generic_plans::int AS generic FROM pg_prepared_statements WHERE statement = $1::text`;
    const [cached] = await c.query<{ generic: number }>(plans, [statement], indexPlan);
    expect(cached?.generic).toBeGreaterThan(0); // not planned on every run
  });

  it('runs a planEachRun statement with parameters inside a transaction', async () => {
    const c = await client();
    expect(await c.transaction((tx) => tx.query(planCacheMode, [3], planEachRun))).toEqual([{ mode: 'auto', n: 3 }]);
  });
});
