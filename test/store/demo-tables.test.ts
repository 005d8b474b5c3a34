import { describe, expect, it } from 'vitest';
import { createDemoTables } from '../../machines/demo-handlers.ts';
import { machines } from '../../machines/index.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { testRuntime } from '../support/databases.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

describe('the demo tables are the demo’s, not tollgate migrate’s', () => {
  it('migrate leaves none; the demo makes its own; 0009 drops empty ones and keeps ones with rows, with a warning', async () => {
    const tg = await testRuntime('postgres', { machines, maxConnections: 2 });
    const { client, schema } = testAccess(tg);
    const s = quoteIdent(schema);
    const exists = async (table: string) => (await client.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [`${s}.${table}`]))[0]?.r != null;
    expect(await exists('demo_charges')).toBe(false);
    expect(await exists('demo_emails')).toBe(false);
    await createDemoTables(tg);
    expect(await exists('demo_charges')).toBe(true);

    // An installation from before 0009, with charges recorded and no emails.
    await client.query(`INSERT INTO ${s}.demo_charges (idempotency_key, customer_id, amount_cents, status) VALUES ('k', 'c', 1, 'succeeded')`);
    await client.query(`DELETE FROM ${s}.__migrations WHERE tag = '0009_drop_empty_demo_tables'`);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      expect(await tg.migrate()).toEqual(['0009_drop_empty_demo_tables']);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(await exists('demo_charges')).toBe(true);
    expect(await exists('demo_emails')).toBe(false);
    expect(warnings.join('\n')).toMatch(/kept .*demo_charges: it has rows/);
    expect(warnings.join('\n')).not.toContain('demo_emails');
  });
});
