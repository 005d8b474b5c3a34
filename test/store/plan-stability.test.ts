import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { commitStatement } from '../../src/store/commit.ts';
import { createQueries } from '../../src/store/queries.ts';
import { effectStore } from '../../src/store/effect-store.ts';
import { outboxStore } from '../../src/store/outbox-store.ts';
import type { SqlClient } from '../../src/store/sql-client.ts';
import { postgresAvailable, testDatabaseUrl, testRuntime } from '../support/databases.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

/**
 * The gate's statements are prepared once per connection, and after five runs Postgres keeps a generic plan made
 * with the statistics of that moment: on a new deployment, empty tables. Whatever it picked then it keeps while the
 * tables grow (no ANALYZE replaces it when autovacuum is off or behind). So the plan made on empty tables must
 * already read one entity's rows, never every row of the machine.
 */

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

/** Every scan of a table in the plan (the ModifyTable nodes are writes, not reads). */
function scans(node: PlanNode): PlanNode[] {
  const own = node['Relation Name'] && !node['Node Type'].startsWith('ModifyTable') ? [node] : [];
  return [...own, ...(node.Plans ?? []).flatMap(scans)];
}

/** Every node of the plan. */
function everyNode(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(everyNode)];
}

/** A client that records the texts of the statements it is given instead of running them (each answers no rows). */
function recordingClient(): { client: SqlClient; texts: string[] } {
  const texts: string[] = [];
  const client = { dialect: 'postgres', query: async (text: string) => (texts.push(text), []) } as unknown as SqlClient;
  return { client, texts };
}

/** The texts the queries module sends, recorded instead of run. */
function recordedQueries(schema: string) {
  const { client, texts } = recordingClient();
  return { queries: createQueries(client, schema), last: () => texts.at(-1) as string };
}

describe.runIf(postgresAvailable())('plan stability of the gate statements', () => {
  const connections: postgres.Sql[] = [];
  afterAll(async () => {
    await Promise.all(connections.map((c) => c.end()));
  });

  /** The generic plan of `text` on this schema's (empty) tables, as a cached prepared statement would use it. */
  async function genericPlan(text: string, args: string, settings: Record<string, string> = {}): Promise<PlanNode[]> {
    return scans(await genericPlanTree(text, args, settings));
  }

  /** The whole generic plan (see genericPlan). */
  async function genericPlanTree(text: string, args: string, settings: Record<string, string>): Promise<PlanNode> {
    const sql = postgres(await testDatabaseUrl(), { max: 1, onnotice: () => {}, connection: settings });
    connections.push(sql);
    await sql.unsafe('SET plan_cache_mode = force_generic_plan');
    await sql.unsafe(`PREPARE stmt AS ${text}`);
    const [row] = await sql.unsafe<Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>>(`EXPLAIN (FORMAT JSON) EXECUTE stmt(${args})`);
    await sql.end();
    return row!['QUERY PLAN'][0]!.Plan;
  }

  it('the commit checks the idempotency key on the (machine, entity, key) index and updates the entity by its key', async () => {
    const tg = await testRuntime('postgres', { machines });
    const text = commitStatement(testAccess(tg).schema, 'update');
    const args = `'m','e',1,2,1,'{}','s',true,now(),'00000000-0000-0000-0000-000000000000','X','{}','k',null,'f',null,null,'[]','[]','[]',null,false`;
    const reads = await genericPlan(text, args);
    const transitions = reads.filter((n) => n['Relation Name'] === 'transitions');
    expect(transitions.map((n) => n['Index Name'])).toEqual(['transitions_entity_key_uq']);
    expect(transitions[0]!['Index Cond']).toMatch(/entity_id = \$2.*idempotency_key = \$13/);
    const entities = reads.filter((n) => n['Relation Name'] === 'entities');
    expect(entities.map((n) => n['Index Name'])).toEqual(['entities_machine_id_pk']);
  });

  it("the gate's lookups by key, by seq and of the entity read one entity's rows", async () => {
    const tg = await testRuntime('postgres', { machines });
    const { queries, last } = recordedQueries(testAccess(tg).schema);
    await queries.transitionByKey('m', 'e', 'k');
    const byKey = await genericPlan(last(), `'m','e','k'`);
    expect(byKey.map((n) => n['Index Name'])).toEqual(['transitions_entity_key_uq']);
    await queries.transitionBySeq('m', 'e', 1);
    const bySeq = await genericPlan(last(), `'m','e',1`);
    // Either unique index bounds the read to the entity's own history; one leading with `machine` only would not.
    expect(bySeq.map((n) => n['Index Cond'])).toEqual([expect.stringMatching(/\(machine = \$1\) AND \(entity_id = \$2\)/)]);
    await queries.loadEntity('m', 'e');
    const entity = await genericPlan(last(), `'m','e'`);
    expect(entity.map((n) => n['Index Name'])).toEqual(['entities_machine_id_pk']);
  });

  it("the effect worker's read and record, cached on the indexPlan sessions, probe the effects' primary key", async () => {
    const tg = await testRuntime('postgres', { machines });
    const { client, texts } = recordingClient();
    const store = effectStore(client, testAccess(tg).schema);
    await store.read('x');
    await store.record({ id: 'x', status: 'completed', at: new Date() });
    const [read, record] = texts as [string, string];
    // The sessions the postgres driver runs indexPlan statements on (drivers/postgres.ts).
    const sessions = { enable_seqscan: 'off' };
    for (const [text, args] of [[read, `'["x"]'`], [record, `'[{"id":"x","status":"completed"}]'`]] as const) {
      const tree = await genericPlanTree(text, args, sessions);
      expect(scans(tree).map((n) => n['Node Type'])).not.toContain('Seq Scan');
      // Every index it reads is the key, probed with the batch's ids (a bitmap scan names it on its child node).
      const indexed = everyNode(tree).filter((n) => n['Index Name']);
      expect(indexed.map((n) => [n['Index Name'], n['Index Cond']])).toEqual([['effects_pkey', expect.stringMatching(/^\(id = ANY \(\$\d\)\)$/)]]);
    }
    // The guard is the sessions' setting: with sequential scans on, the plan made on the empty table scans it all.
    const unguarded = await genericPlan(read, `'["x"]'`);
    expect(unguarded.map((n) => n['Node Type'])).toContain('Seq Scan');
  });

  it("the relay's claim, cached on the indexPlan sessions, takes the oldest pending effects through their index", async () => {
    const tg = await testRuntime('postgres', { machines });
    const { client, texts } = recordingClient();
    await outboxStore(client, testAccess(tg).schema).claim(500);
    const tree = await genericPlanTree(texts[0] as string, '500', { enable_seqscan: 'off' });
    expect(scans(tree).map((n) => n['Node Type'])).not.toContain('Seq Scan');
    const indexed = everyNode(tree).filter((n) => n['Index Name']);
    // The pending rows in created_at order (the LIMIT stops the walk), then the claimed ids by key.
    expect(indexed.map((n) => n['Index Name'])).toEqual(['effects_pending_idx', 'effects_pkey']);
    expect(everyNode(tree).map((n) => n['Node Type'])).toContain('Limit');
  });
});
