/**
 * DBOS Transact 4.24 in this process (it is a library), with its system database and the app's database on the
 * shared Postgres server. An event is a workflow whose id is the request's idempotency key: a transaction step
 * (PostgresDataSource) evaluates the machine and updates the entity row under a version check, then starts one
 * child workflow per effect (id derived from the parent's). An effect workflow runs the provider call as a step
 * and applies the follow-up in another transaction step. DBOS has no state machine: the bench's app evaluates the
 * same machine with XState (bench/peers-evaluate.ts) and refuses an event the state has no transition for.
 */
import { DBOS } from '@dbos-inc/dbos-sdk';
import { PostgresDataSource } from '@dbos-inc/postgres-datasource';
import type postgres from 'postgres';
import { evaluateCreate, evaluateEvent } from '../peers-evaluate.ts';
import { backendsCpuSeconds, signals, type Provider, type System } from './harness.ts';

type Event = { type: string; [k: string]: unknown };

export async function startDbos(
  appUrl: string,
  appDatabase: string,
  systemUrl: string,
  systemDatabase: string,
  provider: Provider,
  monitor: postgres.Sql,
  pools: { app: number; system: number },
): Promise<System> {
  const u = new URL(appUrl);
  const options = { host: u.hostname, port: Number(u.port || 5432), user: decodeURIComponent(u.username || 'postgres'), database: appDatabase, max: pools.app };
  await PostgresDataSource.initializeDBOSSchema(options);
  const admin = (await import('postgres')).default(appUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE TABLE IF NOT EXISTS subscriptions (id text PRIMARY KEY, snapshot jsonb NOT NULL, state text NOT NULL, version int NOT NULL)`);
  await admin.end();
  const ds = new PostgresDataSource('app', options);

  const insertEntity = ds.registerTransaction(
    async (id: string, input: { customerId: string; plan: string }) => {
      const d = evaluateCreate(input);
      await PostgresDataSource.client`INSERT INTO subscriptions (id, snapshot, state, version) VALUES (${id}, ${PostgresDataSource.client.json(d.snapshot as postgres.JSONValue)}, ${d.state}, 1)`;
    },
    { name: 'insertEntity' },
  );
  const applyEvent = ds.registerTransaction(
    async (id: string, event: Event) => {
      const sql = PostgresDataSource.client;
      const [row] = await sql<Array<{ snapshot: unknown; version: number }>>`SELECT snapshot, version FROM subscriptions WHERE id = ${id}`;
      if (!row) throw new Error(`subscription ${id} not found`);
      const d = evaluateEvent(row.snapshot, event);
      if (!d.legal) return { refused: `${event.type} is not allowed in ${d.state}`, effects: [] };
      const updated = await sql`UPDATE subscriptions SET snapshot = ${sql.json(d.snapshot as postgres.JSONValue)}, state = ${d.state}, version = version + 1 WHERE id = ${id} AND version = ${row.version}`;
      if (updated.count !== 1) throw new Error(`version conflict on ${id}`);
      return { refused: null, effects: d.effects };
    },
    { name: 'applyEvent' },
  );
  const runEffect = DBOS.registerWorkflow(
    async (id: string, type: string) => {
      const key = DBOS.workflowID as string;
      if (type === 'chargePayment') {
        const chargeId = await DBOS.runStep(() => provider.charge('dbos', key, id), { name: 'charge' });
        await applyEvent(id, { type: 'PAYMENT_SUCCEEDED', chargeId });
        signals.fire(`paid:dbos:${id}`);
      } else {
        await DBOS.runStep(() => provider.email('dbos', key, id), { name: 'email' });
      }
    },
    { name: 'runEffect' },
  );
  const sendEvent = DBOS.registerWorkflow(
    async (id: string, event: Event) => {
      const { refused, effects } = await applyEvent(id, event);
      for (const [i, effect] of effects.entries()) await DBOS.startWorkflow(runEffect, { workflowID: `${DBOS.workflowID as string}-e${i}` })(id, effect.type);
      return refused;
    },
    { name: 'sendEvent' },
  );
  const createEntity = DBOS.registerWorkflow(
    async (id: string, input: { customerId: string; plan: string }) => {
      await insertEntity(id, input);
    },
    { name: 'createEntity' },
  );

  DBOS.setConfig({ name: 'tollgate-peers', systemDatabaseUrl: systemUrl, systemDatabasePoolSize: pools.system, logLevel: 'error', runAdminServer: false });
  await DBOS.launch();
  return {
    name: 'dbos',
    async create(id, key) {
      await (await DBOS.startWorkflow(createEntity, { workflowID: key })(id, { customerId: id, plan: 'pro' })).getResult();
    },
    async send(id, event, key) {
      const refused = await (await DBOS.startWorkflow(sendEvent, { workflowID: key })(id, event)).getResult();
      if (refused) throw new Error(refused);
    },
    async illegal(id) {
      const refused = await (await DBOS.startWorkflow(sendEvent)(id, { type: 'RESUME' })).getResult();
      return refused ? 'refused by the app (the bench checks snapshot.can); nothing recorded but the workflow' : 'accepted (!)';
    },
    async serverCpuSeconds() {
      const backends = await backendsCpuSeconds(monitor, [appDatabase, systemDatabase]);
      return [...backends.values()].reduce((a, b) => a + b, 0);
    },
    async close() {
      await DBOS.shutdown();
    },
  };
}
