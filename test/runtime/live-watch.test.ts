import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import type { TransitionView } from '../../src/index.ts';
import { postgresAvailable, testDatabaseUrl, testRuntime } from '../support/databases.ts';
import { eventually } from '../support/processes.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

const sub = { customerId: 'c', plan: 'pro' };

describe.runIf(postgresAvailable())('watching commits (the live hub behind SSE streams and the inspector)', () => {
  it('delivers what commits after the watch began, never what had committed before, even while an old transaction holds the horizon back', async () => {
    const tg = await testRuntime('postgres', { machines });
    const other = await testRuntime('postgres', { machines, schema: testAccess(tg).schema }); // another process
    const elsewhere = postgres(await testDatabaseUrl(), { max: 1, onnotice: () => {} });
    try {
      let release = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      // A long transaction of someone else's, holding an id older than what follows.
      const holding = elsewhere.begin(async (sql) => {
        await sql`SELECT pg_current_xact_id()`;
        await released;
      });
      await new Promise((r) => setTimeout(r, 200));
      await other.create('subscription', 'before', sub);

      const seen: TransitionView[] = [];
      const stop = tg.watch({ machine: 'subscription' }, (t) => seen.push(t));
      try {
        await new Promise((r) => setTimeout(r, 300));
        await other.create('subscription', 'after', sub);
        await eventually(() => seen.some((t) => t.entityId === 'after'), 10_000, "the other process's create");
        await new Promise((r) => setTimeout(r, 1500)); // another tick of the tail
        expect(seen.map((t) => t.entityId)).toEqual(['after']);
      } finally {
        stop();
        release();
        await holding;
      }
    } finally {
      await elsewhere.end();
    }
  }, 60_000);
});
