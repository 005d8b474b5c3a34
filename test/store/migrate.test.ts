import { describe, expect, it } from 'vitest';
import { createTollgate } from '../../src/index.ts';
import { loadMigrations } from '../../src/store/migrate.ts';
import { machines } from '../../machines/index.ts';
import { postgresAvailable, testDatabaseUrl } from '../support/databases.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

describe.runIf(postgresAvailable())('migrations on Postgres', () => {
  it('apply once into a configurable schema; a second run applies nothing', async () => {
    const url = await testDatabaseUrl();
    const tg = await createTollgate({ machines, database: { url }, schema: 'billing_lifecycles' });
    try {
      expect(await tg.migrate()).toEqual(loadMigrations('billing_lifecycles').map((m) => m.tag));
      expect(await tg.migrate()).toEqual([]);
      const tables = await testAccess(tg).client.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'billing_lifecycles' ORDER BY 1`,
      );
      expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['entities', 'transitions', 'effects', 'timers', 'rejections']));
      await tg.create('subscription', 's', { customerId: 'c', plan: 'pro' });
      const inDefault = await testAccess(tg).client.query(`SELECT 1 FROM information_schema.schemata WHERE schema_name = 'tollgate'`);
      expect(inDefault).toEqual([]);
    } finally {
      await tg.close();
    }
  });

  it('five processes migrating at once apply each migration exactly once', async () => {
    const url = await testDatabaseUrl();
    const runtimes = await Promise.all(Array.from({ length: 5 }, () => createTollgate({ machines, database: { url }, schema: 'racing' })));
    try {
      const applied = await Promise.all(runtimes.map((tg) => tg.migrate()));
      expect(applied.flat().sort()).toEqual(loadMigrations('racing').map((m) => m.tag).sort());
    } finally {
      await Promise.all(runtimes.map((tg) => tg.close()));
    }
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(createTollgate({ machines, database: { url: 'postgres://x' }, schema: 'x"; DROP' })).rejects.toMatchObject({
      code: 'TG_INVALID_OPTIONS',
      details: { field: 'schema' },
    });
  });
});
