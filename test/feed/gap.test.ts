import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../../src/feed/event.ts';
import { consumerStore } from '../../src/store/consumer-store.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { postgresAvailable, testDatabaseUrl, testRuntime } from '../support/databases.ts';
import { eventually } from '../support/processes.ts';
import { feedMachines, stopFeeds, testFeed } from './support.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

afterEach(stopFeeds);

/**
 * The outbox-polling gap: a transaction that took its id early commits after later ones are visible. A reader that
 * moves its cursor past everything it can see would pass over it for good.
 */
describe.runIf(postgresAvailable())('lifecycle feed: no transition skipped', () => {
  it('delivers transitions whose transactions commit after later-numbered ones became visible', { timeout: 60_000 }, async () => {
    const tg = await testRuntime('postgres', { machines: feedMachines });
    const s = quoteIdent(testAccess(tg).schema);
    const got: LifecycleEvent[] = [];
    tg.onTransition('gap', (e) => void got.push(e));
    testFeed(tg, { pollIntervalMs: 20 });
    await eventually(async () => (await consumerStore(testAccess(tg).client, testAccess(tg).schema).list()).length === 1, 10_000, 'consumer row');

    const sql = postgres(await testDatabaseUrl(), { max: 12, onnotice: () => {} });
    try {
      // Interleaved committers: each holds a transaction open with its id taken while the gate commits others
      // (later ids, visible at once, polled by the feed every 20 ms); then they commit, out of order, with more
      // gate commits between them.
      const held = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const conn = await sql.reserve();
          await conn`BEGIN`;
          await conn`SELECT pg_current_xact_id()`;
          return { conn, id: `late-${i}` };
        }),
      );
      for (let i = 0; i < 10; i++) await tg.create('ticket', `early-${i}`, {});
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const [i, { conn, id }] of held.sort(() => Math.random() - 0.5).entries()) {
        // As the gate's statement does (governance: only the gate writes lifecycle state).
        await conn`SELECT set_config('tollgate.gate', 'on', true)`;
        await conn.unsafe(
          `WITH e AS (INSERT INTO ${s}.entities (machine, id, machine_version, snapshot, state, version, state_entered_at, created_at, updated_at)
             VALUES ('ticket', $1, 1, '{"value":"open","context":{"notes":0},"status":"active"}', 'open', 1, now(), now(), now()))
           INSERT INTO ${s}.transitions (id, machine, entity_id, seq, event_type, event, from_state, to_state, snapshot, state_entered_at, fingerprint, machine_version, created_at)
           VALUES (gen_random_uuid(), 'ticket', $1, 1, 'xstate.init', '{"type":"xstate.init"}', NULL, 'open', '{}', now(), 'f', 1, now())`,
          [id],
        );
        await conn`COMMIT`;
        conn.release();
        // More visible work between the late commits.
        await tg.create('ticket', `between-${i}`, {});
      }
      await eventually(() => got.length >= 26, 20_000, 'every transition, the late ones included');
      const ids = got.map((e) => e.entityId);
      for (let i = 0; i < 8; i++) expect(ids).toContain(`late-${i}`);
      expect(new Set(ids).size).toBe(26);
    } finally {
      await sql.end();
    }
  });
});
